import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cardSchemeKnown,
  countryCodeValid,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnValid,
  nanpValid,
  ssnValid,
} from './validators.ts';

describe('validators', () => {
  test('Luhn accepts test card numbers and rejects a single changed digit', () => {
    for (const pan of [
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
      '3530111333300000',
    ])
      assert.ok(luhnValid(pan), pan);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(luhnValid('4111-1111-1111-1111'), false, 'digits only');
  });

  test('card schemes need a known prefix with its length', () => {
    assert.ok(cardSchemeKnown('4111111111111111'));
    assert.ok(cardSchemeKnown('2221000000000009'), 'Mastercard 2-series');
    assert.ok(cardSchemeKnown('378282246310005'), 'Amex 15');
    assert.equal(cardSchemeKnown('37828224631000'), false, 'Amex is 15 digits, not 14');
    assert.equal(cardSchemeKnown('9111111111111111'), false);
  });

  test('IBAN mod-97 and the country length both have to hold', () => {
    assert.ok(ibanValid('DE89370400440532013000'));
    assert.ok(ibanValid('GB82WEST12345698765432'));
    assert.ok(ibanValid('FR1420041010050500013M02606'));
    assert.ok(ibanValid('BE68539007547034'));
    assert.equal(ibanValid('DE89370400440532013001'), false, 'check digits wrong');
    assert.equal(ibanValid('DE8937040044053201300'), false, 'one digit short for DE');
    assert.equal(ibanValid('ZZ89370400440532013000'), false, 'no such country');
  });

  test('SSNs in ranges the SSA never issues are invalid', () => {
    assert.ok(ssnValid('123', '45', '6789'));
    assert.ok(ssnValid('665', '12', '3456'));
    for (const [a, g, s] of [
      ['000', '12', '3456'],
      ['666', '12', '3456'],
      ['900', '12', '3456'],
      ['999', '12', '3456'],
      ['123', '00', '4567'],
      ['123', '45', '0000'],
      ['078', '05', '1120'],
      ['219', '09', '9999'],
      ['111', '11', '1111'],
    ] as const) {
      assert.equal(ssnValid(a, g, s), false, `${a}-${g}-${s}`);
    }
  });

  test('IPv4 needs four octets up to 255 without leading zeros; IPv6 is parsed', () => {
    assert.ok(ipv4Valid('192.168.1.20'));
    assert.ok(ipv4Valid('10.0.0.1'));
    assert.equal(ipv4Valid('256.1.1.1'), false);
    assert.equal(ipv4Valid('01.02.03.04'), false);
    assert.ok(ipv6Valid('2001:db8::8a2e:370:7334'));
    assert.ok(ipv6Valid('::ffff:192.0.2.1'));
    assert.equal(ipv6Valid('12:30:45'), false, 'a time');
    assert.equal(ipv6Valid('00:1a:2b:3c:4d:5e'), false, 'a MAC address');
  });

  test('NANP numbers need an area code and exchange starting 2-9', () => {
    assert.ok(nanpValid('4155552671'));
    assert.equal(nanpValid('1234567890'), false);
    assert.equal(nanpValid('4151552671'), false);
  });

  test('country calling codes are checked on the first one to three digits', () => {
    for (const d of [
      '14155552671',
      '442079460958',
      '33123456789',
      '8613800138000',
      '97150000000',
      '3545551234',
    ])
      assert.ok(countryCodeValid(d), d);
    for (const d of ['8351234567', '2801234567', '9991234567']) assert.equal(countryCodeValid(d), false, d);
  });
});
