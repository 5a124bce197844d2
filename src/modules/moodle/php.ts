// PHP unserialize() for the subset Moodle's logstore writes into `other`: arrays (a), strings (s),
// integers (i), doubles (d), booleans (b) and null (N), nested. String lengths are in bytes, so
// the parser walks UTF-8 bytes, not JS characters. Objects and references are refused.

export class PhpUnserializeError extends Error {}

/** Arrays whose keys are exactly 0..n-1 become JS arrays; other arrays become objects. */
export function phpUnserialize(text: string): unknown {
  const bytes = Buffer.from(text, "utf8");
  const p = new Parser(bytes);
  const value = p.value();
  if (p.pos !== bytes.length) throw new PhpUnserializeError(`unexpected data at byte ${p.pos}`);
  return value;
}

/** Cheap test: does this string look like a PHP-serialized value? */
export function looksPhpSerialized(text: string): boolean {
  return /^(?:a:\d+:\{|s:\d+:"|i:-?\d+;|d:[^;]+;|b:[01];|N;)/.test(text);
}

const C = { a: 97, s: 115, i: 105, d: 100, b: 98, N: 78, colon: 58, semi: 59, quote: 34, lbrace: 123, rbrace: 125 };

class Parser {
  pos = 0;
  constructor(private b: Buffer) {}

  private fail(msg: string): never {
    throw new PhpUnserializeError(`${msg} at byte ${this.pos}`);
  }

  private expect(byte: number): void {
    if (this.b[this.pos] !== byte) this.fail(`expected '${String.fromCharCode(byte)}'`);
    this.pos++;
  }

  /** Reads up to (not including) `end`, consuming `end`. */
  private until(end: number): string {
    const start = this.pos;
    const i = this.b.indexOf(end, start);
    if (i < 0) this.fail(`missing '${String.fromCharCode(end)}'`);
    this.pos = i + 1;
    return this.b.toString("latin1", start, i);
  }

  value(): unknown {
    const t = this.b[this.pos];
    if (t === C.N) {
      this.pos++;
      this.expect(C.semi);
      return null;
    }
    this.pos++;
    this.expect(C.colon);
    switch (t) {
      case C.i: {
        const s = this.until(C.semi);
        if (!/^[+-]?\d+$/.test(s)) this.fail(`bad integer "${s}"`);
        return Number(s);
      }
      case C.d: {
        const s = this.until(C.semi);
        if (s === "INF") return Infinity;
        if (s === "-INF") return -Infinity;
        if (s === "NAN") return NaN;
        const n = Number(s);
        if (s === "" || Number.isNaN(n)) this.fail(`bad double "${s}"`);
        return n;
      }
      case C.b: {
        const s = this.until(C.semi);
        if (s !== "0" && s !== "1") this.fail(`bad boolean "${s}"`);
        return s === "1";
      }
      case C.s: {
        const len = this.length();
        this.expect(C.quote);
        if (this.pos + len > this.b.length) this.fail("string runs past the end");
        const s = this.b.toString("utf8", this.pos, this.pos + len);
        this.pos += len;
        this.expect(C.quote);
        this.expect(C.semi);
        return s;
      }
      case C.a: {
        const n = this.length();
        this.expect(C.lbrace);
        const keys: Array<string | number> = [];
        const values: unknown[] = [];
        for (let k = 0; k < n; k++) {
          const key = this.value();
          if (typeof key !== "string" && typeof key !== "number") this.fail("array key must be an integer or a string");
          keys.push(key);
          values.push(this.value());
        }
        this.expect(C.rbrace);
        if (keys.every((key, idx) => key === idx)) return values;
        const obj: Record<string, unknown> = {};
        keys.forEach((key, idx) => (obj[String(key)] = values[idx]));
        return obj;
      }
      default:
        this.pos--;
        this.fail(`unsupported type '${t === undefined ? "end of input" : String.fromCharCode(t)}'`);
    }
  }

  private length(): number {
    const s = this.until(C.colon);
    if (!/^\d+$/.test(s)) this.fail(`bad length "${s}"`);
    return Number(s);
  }
}
