import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Candidate, creditCardDetector, phoneDetector } from './detectors.ts';
import { compile, redact } from './testkit.ts';

/** Redacts with only the given entities selected. */
const only = (entities: string[]) => {
  const cfg = compile({ entities });
  return (text: string, key?: string) => redact(cfg, text, key);
};

describe('email', () => {
  const r = only(['email']);
  test('redacts addresses in prose, after mailto: and with plus tags', () => {
    assert.equal(r('Write to alice.smith+news@mail.example.co.uk today.'), 'Write to <EMAIL> today.');
    assert.equal(r('<a href="mailto:bob@example.org">'), '<a href="mailto:<EMAIL>">');
  });
  test('leaves handles, scoped packages and file names alone', () => {
    for (const s of ['ping @alice on slack', 'npm i @scope/pkg', 'user@localhost', 'icon@2x.png', 'a.@b.com'])
      assert.equal(r(s), s);
  });
  test('a file-extension TLD counts when a keyword says it is an address', () => {
    assert.equal(r('email: logo@2x.png'), 'email: <EMAIL>');
  });
});

describe('phone_number', () => {
  const r = only(['phone_number']);
  test('redacts international numbers in the formats people write', () => {
    for (const n of [
      '+1 (415) 555-2671',
      '+14155552671',
      '+44 20 7946 0958',
      '+33 1 23 45 67 89',
      '+49 30 12345678',
      '+91 98765 43210',
      '+81 3-1234-5678',
      '+55 11 91234-5678',
      '+86 138 0013 8000',
      '0044 20 7946 0958',
    ])
      assert.equal(r(`reach me on ${n}.`), 'reach me on <PHONE_NUMBER>.', n);
  });
  test('redacts common national formats', () => {
    for (const n of [
      '(415) 555-2671',
      '415-555-2671',
      '415.555.2671',
      '020 7946 0958',
      '07700 900123',
      '01 23 45 67 89',
      '030 12345678',
    ])
      assert.equal(r(`number ${n} ok`), 'number <PHONE_NUMBER> ok', n);
  });
  test('needs a keyword for bare digit strings, and takes one from the key', () => {
    assert.equal(r('order 4155552671 shipped'), 'order 4155552671 shipped');
    assert.equal(r('call me at 4155552671'), 'call me at <PHONE_NUMBER>');
    assert.equal(r('4155552671', 'user.phone'), '<PHONE_NUMBER>');
  });
  test('leaves dates, versions, prices, invalid NANP and long digit runs alone', () => {
    for (const s of [
      '2024-05-01',
      '10.0.0.1',
      'v0.12.345.6789',
      '1 234 567 890',
      '123-456-7890',
      '12345678901234567890',
      'ZIP 94105-1234',
    ])
      assert.equal(r(s), s);
  });
});

describe('credit_card', () => {
  const r = only(['credit_card']);
  test('redacts Luhn-valid cards, grouped or not, and keeps surrounding digits', () => {
    assert.equal(r('card 4111 1111 1111 1111 exp 12/29'), 'card <CREDIT_CARD> exp 12/29');
    assert.equal(r('4111-1111-1111-1111'), '<CREDIT_CARD>');
    assert.equal(r('amex 3782 822463 10005'), 'amex <CREDIT_CARD>');
    assert.equal(r('order 12 4111 1111 1111 1111 2029'), 'order 12 <CREDIT_CARD> 2029');
    assert.equal(r('{"pan":"5555555555554444"}'), '{"pan":"<CREDIT_CARD>"}');
  });
  test('leaves Luhn-invalid numbers, filler digits and ids alone', () => {
    for (const s of [
      '4111 1111 1111 1112',
      '0000 0000 0000 0000',
      '1715000000000000000',
      'id 41111111111111110000',
      'pi 3.1415926535897932',
    ])
      assert.equal(r(s), s);
  });
});

describe('iban', () => {
  const r = only(['iban']);
  test('redacts grouped and compact IBANs without swallowing the next word', () => {
    assert.equal(r('IBAN DE89 3704 0044 0532 0130 00 THANKS'), 'IBAN <IBAN> THANKS');
    assert.equal(r('pay GB82WEST12345698765432.'), 'pay <IBAN>.');
    assert.equal(r('be: BE68539007547034'), 'be: <IBAN>');
  });
  test('leaves wrong check digits and wrong lengths alone', () => {
    for (const s of ['DE89 3704 0044 0532 0130 01', 'DE89370400440532013', 'DE8937040044053201300099X'])
      assert.equal(r(s), s);
  });
});

describe('us_ssn', () => {
  const r = only(['us_ssn']);
  test('redacts dashed SSNs and bare ones with a keyword', () => {
    assert.equal(r('ssn 536-22-8833'), 'ssn <US_SSN>');
    assert.equal(r('536-22-8833'), '<US_SSN>');
    assert.equal(r('SSN: 536228833'), 'SSN: <US_SSN>');
  });
  test('leaves invalid ranges, mixed delimiters and bare digits without context alone', () => {
    for (const s of [
      '000-12-3456',
      '666-12-3456',
      '912-12-3456',
      '123-00-4567',
      '078-05-1120',
      '536-22 8833',
      'ref 536228833',
    ])
      assert.equal(r(s), s);
  });
});

describe('ip_address', () => {
  const r = only(['ip_address']);
  test('redacts IPv4 and IPv6, with ports and brackets', () => {
    assert.equal(r('from 203.0.113.7:443'), 'from <IP_ADDRESS>:443');
    assert.equal(r('peer [2001:db8::8a2e:370:7334]:443'), 'peer [<IP_ADDRESS>]:443');
    assert.equal(r('::ffff:192.0.2.1'), '<IP_ADDRESS>');
  });
  test('a version keyword lowers the confidence of a dotted quad below the threshold', () => {
    assert.equal(r('version 1.2.3.4'), 'version 1.2.3.4');
    assert.equal(r('host 1.2.3.4'), 'host <IP_ADDRESS>');
  });
  test('leaves OIDs, times, MAC addresses and C++ scopes alone', () => {
    for (const s of ['1.3.6.1.4.1', '12:30:45', '00:1a:2b:3c:4d:5e', 'std::string', 'a 300.1.1.1'])
      assert.equal(r(s), s);
  });
});

describe('api_key and credentials', () => {
  const r = only(['api_key', 'jwt']);
  test('redacts vendor key shapes whole, however long', () => {
    for (const k of [
      'sk-proj-Ab3dEf1234567890XyZaBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789_-AbCd',
      'sk-ant-api03-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu901Vwx234Yz_-AAAA',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
      'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
      'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
    ])
      assert.equal(r(`key=${k};`), 'key=<API_KEY>;', k);
  });
  test('redacts an AWS secret access key only next to its name', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    assert.equal(r(`aws_secret_access_key = ${secret}`), 'aws_secret_access_key = <API_KEY>');
    assert.equal(r(`blob ${secret}`), `blob ${secret}`);
  });
  test('leaves look-alikes alone: sk-learn, short prefixes, words', () => {
    for (const s of [
      'pip install sk-learn',
      'task-list',
      'AKIA is a prefix',
      'ghp_short',
      'the desk-top-organizer-for-kids-rooms',
    ])
      assert.equal(r(s), s);
  });
  test('redacts JWTs (the header must decode) and leaves other eyJ strings', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    assert.equal(r(`token ${jwt} end`), 'token <JWT> end');
    const notJwt = 'eyJub3QiOiJhIGp3dCJ9.eyJ4IjoxfQ.sig';
    assert.equal(r(notJwt), notJwt);
  });
  test('redacts bearer and basic credentials but keeps the scheme word and prose', () => {
    assert.equal(r('Authorization: Bearer abcDEF123456ghiJKL789'), 'Authorization: Bearer <BEARER_TOKEN>');
    assert.equal(
      r(`Authorization: Basic ${Buffer.from('admin:hunter2').toString('base64')}`),
      'Authorization: Basic <BEARER_TOKEN>',
    );
    assert.equal(
      r('the bearer instruments are basic understanding'),
      'the bearer instruments are basic understanding',
    );
  });
  test('redacts private key blocks to their END line, or to the end when there is none', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----';
    assert.equal(r(`key:\n${pem}\nafter`), 'key:\n<PRIVATE_KEY>\nafter');
    assert.equal(r('x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA'), 'x <PRIVATE_KEY>');
    assert.equal(r('-----BEGIN PUBLIC KEY-----\nMIIB'), '-----BEGIN PUBLIC KEY-----\nMIIB');
  });
  test('redacts the password of a URL and keeps user and host', () => {
    assert.equal(
      r('postgres://admin:s3cr3t@db.internal:5432/app'),
      'postgres://admin:<URL_PASSWORD>@db.internal:5432/app',
    );
    assert.equal(
      r('mongodb+srv://u:p%40ss@cluster0.example.net/db'),
      'mongodb+srv://u:<URL_PASSWORD>@cluster0.example.net/db',
    );
    assert.equal(r('https://example.com:8443/path'), 'https://example.com:8443/path');
  });
  test('redacts the value of password= and api_key: assignments in free text', () => {
    assert.equal(r('login with password=hunter22 now'), 'login with password=<SECRET> now');
    assert.equal(r(`{"client_secret": "abc123def456"}x`), '{"client_secret": "<SECRET>"}x');
  });
});

describe('finer credential entities', () => {
  test('api_key selects every credential shape; a finer name alone selects only itself', () => {
    const all = only(['api_key']);
    const bearerOnly = only(['bearer_token']);
    const text = 'Bearer abcDEF123456ghiJKL789 and postgres://a:b1@h.io and AKIAIOSFODNN7EXAMPLE';
    assert.equal(all(text), 'Bearer <BEARER_TOKEN> and postgres://a:<URL_PASSWORD>@h.io and <API_KEY>');
    assert.equal(bearerOnly(text), 'Bearer <BEARER_TOKEN> and postgres://a:b1@h.io and AKIAIOSFODNN7EXAMPLE');
  });
});

describe('identifiers are never redacted by accident', () => {
  const r = only(['email', 'phone_number', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'api_key', 'jwt']);
  test('trace and span ids, UUIDs, digests and timestamps in text stay', () => {
    for (const s of [
      'trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174',
      'request 123e4567-e89b-12d3-a456-426614174000 done',
      'sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'at 2024-05-01T12:30:45.123456789Z and 2024-05-01 12:30',
      'ts=1715000000000000000 ms=1715000000000 s=1715000000',
      'uuid 41111111-1111-1111-1111-111111111111 (all digits, Luhn-valid prefix)',
    ])
      assert.equal(r(s), s, s);
  });
  test('values of id keys only get self-identifying entities checked', () => {
    assert.equal(r('415-555-2671', 'user.id'), '415-555-2671');
    assert.equal(r('415-555-2671', 'user.note'), '<PHONE_NUMBER>');
    assert.equal(r('4111111111111111', 'gen_ai.response.id'), '4111111111111111');
    assert.equal(r('alice@example.com', 'user.id'), '<EMAIL>');
  });
});

describe('linear time on adversarial input', () => {
  // Each input would take minutes with a backtracking pattern such as [\w.]+@[\w.]+ or (\d[ -]?)+;
  // here the scan completes and the result is checked (no timing assertion).
  const r = only(['email', 'phone_number', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'api_key', 'jwt']);
  const big = 256 * 1024;
  for (const [name, input] of [
    ['a run of local-part characters with no @', 'a'.repeat(big)],
    ['many @ signs', 'a@'.repeat(big / 2)],
    ['digits separated by single spaces', '1 '.repeat(big / 2)],
    ['a long digit run', '7'.repeat(big)],
    ['dotted numbers', '1.'.repeat(big / 2)],
    ['colons and hex', 'a:'.repeat(big / 2)],
    ['repeated key prefixes', 'sk-'.repeat(big / 3)],
    ['repeated JWT starts', 'eyJ.'.repeat(big / 4)],
    ['repeated BEGIN lines without END', '-----BEGIN PRIVATE KEY-----'.repeat(big / 27)],
    ['repeated schemes', 'a://b:c'.repeat(big / 7)],
  ] as const) {
    test(`completes on ${name}`, () => {
      const out = r(input);
      assert.equal(typeof out, 'string');
    });
  }
  test('still finds an entity at the end of a long adversarial run', () => {
    assert.ok(r(`${'a'.repeat(big)} alice@example.com`).endsWith(' <EMAIL>'));
    assert.ok(r(`${'1 '.repeat(big / 2)}x 4111 1111 1111 1111`).endsWith('x <CREDIT_CARD>'));
  });
  test('finds a card and a phone number wherever they sit in a digit run many pieces long', () => {
    // The run is read in pieces of a few hundred groups; an entity across a piece's end must be
    // found whole, exactly where it is.
    for (const before of [0, 1, 200, 237, 238, 250, 255, 256, 257, 274, 275, 276, 511, 512, 530, 700]) {
      const head = '7 '.repeat(before);
      for (const [detector, entity] of [
        [creditCardDetector, '4111 1111 1111 1111'],
        [phoneDetector, '415 555 2671'],
      ] as const) {
        const text = `x ${head}${entity} ${'7 '.repeat(300)}x`;
        const out: Candidate[] = [];
        detector.find(text, out);
        const start = 2 + head.length;
        assert.ok(
          out.some((c) => c.start === start && c.end === start + entity.length),
          `${detector.entity} after ${before} groups`,
        );
      }
    }
  });
});
