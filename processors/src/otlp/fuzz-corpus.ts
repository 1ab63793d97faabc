import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Encoding } from './codec.ts';
import { SIGNALS, type Signal } from './schema.ts';

/** Where the regression corpus lives: one request per file, named `<signal>.<accept|reject>.<what>.<pb|otlpjson>`
 * (not `.json`: the formatter would re-indent a 200-deep nesting case into a huge file). */
export const CORPUS_DIR = join(import.meta.dirname, 'fuzz-corpus');

export interface CorpusCase {
  readonly file: string;
  readonly signal: Signal;
  /** accept: decodes (HTTP 200); reject: BadRequestError (HTTP 400). */
  readonly expect: 'accept' | 'reject';
  readonly encoding: Encoding;
  readonly body: Uint8Array;
}

const NAME = /^(traces|metrics|logs)\.(accept|reject)\.[a-z0-9-]+\.(pb|otlpjson)$/;

/** Every case of the corpus; a file whose name does not follow the convention is an error, not skipped. */
export function readCorpus(dir = CORPUS_DIR): CorpusCase[] {
  return readdirSync(dir)
    .filter((f) => f !== 'README.md')
    .sort()
    .map((file) => {
      const m = NAME.exec(file);
      if (!m)
        throw new Error(
          `fuzz corpus file ${file} is not named <signal>.<accept|reject>.<what>.<pb|otlpjson>`,
        );
      const signal = SIGNALS.find((s) => s === m[1]) as Signal;
      return {
        file,
        signal,
        expect: m[2] === 'accept' ? 'accept' : 'reject',
        encoding: m[3] === 'otlpjson' ? 'json' : 'protobuf',
        body: readFileSync(join(dir, file)),
      };
    });
}
