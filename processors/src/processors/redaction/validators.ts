import { isIPv4, isIPv6 } from 'node:net';

/**
 * Check-digit and range validators for the built-in detectors. Each takes the candidate in a
 * normalised form (digits only, compact IBAN) and answers whether it can be what it looks like.
 * All are linear in their (bounded) input.
 */

/** Luhn (mod 10) check over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function allSameDigit(digits: string): boolean {
  for (let i = 1; i < digits.length; i++) if (digits[i] !== digits[0]) return false;
  return true;
}

/**
 * Whether a Luhn-valid digit string has the prefix (IIN) and length of a real card scheme: Visa,
 * Mastercard (51–55, 2221–2720), Amex, Discover, JCB, Diners, UnionPay, Maestro, UATP.
 */
export function cardSchemeKnown(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p4 === 3095)
    return n >= 14 && n <= 19;
  if (p2 === 62) return n >= 16 && n <= 19;
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 13 && n <= 19;
  if (digits[0] === '1') return n === 15;
  return false;
}

/** IBAN length per country (ISO 13616 registry). */
export const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  [
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18',
    'DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23',
    'IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31',
    'MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24',
    'SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30',
  ]
    .join(' ')
    .split(' ')
    .map((cc): [string, number] => [cc.slice(0, 2), Number(cc.slice(2))]),
);

/** ISO 13616 / ISO 7064 mod-97-10 over a compact, upper-case IBAN; also checks the country's length. */
export function ibanValid(compact: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  if (IBAN_LENGTHS.get(compact.slice(0, 2)) !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    // Letters count as two digits (A=10 … Z=35); digits as one.
    if (c >= 65) rem = (rem * 100 + (c - 55)) % 97;
    else rem = (rem * 10 + (c - 48)) % 97;
  }
  return rem === 1;
}

/**
 * US SSN ranges the SSA never issues: area 000, 666 and 900–999, group 00, serial 0000, plus
 * numbers published as examples (Woolworth's 078-05-1120, the SSA ad's 219-09-9999) and
 * all-same-digit fillers.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const all = `${area}${group}${serial}`;
  if (all === '078051120' || all === '219099999') return false;
  return !allSameDigit(all);
}

/** Dotted-quad IPv4 without leading zeros (so zero-padded version strings are not taken for addresses). */
export function ipv4Valid(s: string): boolean {
  if (!isIPv4(s)) return false;
  return s.split('.').every((o) => o === '0' || !o.startsWith('0'));
}

export function ipv6Valid(s: string): boolean {
  return s.includes(':') && isIPv6(s);
}

/** NANP: area code and exchange both start 2–9 (so 10-digit runs like 1234567890 are not phones). */
export function nanpValid(digits10: string): boolean {
  return (
    digits10.length === 10 &&
    digits10[0] !== '0' &&
    digits10[0] !== '1' &&
    digits10[3] !== '0' &&
    digits10[3] !== '1'
  );
}

// ITU-T E.164 country calling codes. Codes are prefix-free, so the first 1, 2 or 3 digits decide.
const CC1 = new Set(['1', '7']);
const CC2 = new Set(
  '20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98'.split(
    ' ',
  ),
);
const CC3_RANGES: readonly (readonly [number, number])[] = [
  [211, 212],
  [213, 213],
  [216, 216],
  [218, 218],
  [220, 258],
  [260, 269],
  [290, 291],
  [297, 299],
  [350, 359],
  [370, 389],
  [420, 421],
  [423, 423],
  [500, 509],
  [590, 599],
  [670, 692],
  [850, 850],
  [852, 853],
  [855, 856],
  [880, 880],
  [886, 886],
  [960, 968],
  [970, 977],
  [992, 998],
];

/** Whether international digits (after `+` or `00`) start with an assigned country calling code. */
export function countryCodeValid(digits: string): boolean {
  if (CC1.has(digits.slice(0, 1))) return true;
  if (CC2.has(digits.slice(0, 2))) return true;
  const c3 = Number(digits.slice(0, 3));
  return CC3_RANGES.some(([lo, hi]) => c3 >= lo && c3 <= hi);
}
