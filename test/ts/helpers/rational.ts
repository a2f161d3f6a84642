/**
 * Exact rational arithmetic on bigints, for the "real number" answers the contracts approximate.
 * A value is numerator / denominator with a positive denominator, always reduced.
 */
const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

export class Rational {
  readonly n: bigint;
  readonly d: bigint;

  constructor(n: bigint, d: bigint = 1n) {
    if (d === 0n) throw new Error("Rational: zero denominator");
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n, d) || 1n;
    this.n = n / g;
    this.d = d / g;
  }

  /** A whole number of units (e.g. 100000 quote) as a rational in units, not wei. */
  static of(x: bigint | number): Rational {
    return new Rational(BigInt(x));
  }

  /** An 18-decimal fixed-point value (wei) as a rational number of units. */
  static fromWad(x: bigint): Rational {
    return new Rational(x, 10n ** 18n);
  }

  add(o: Rational): Rational {
    return new Rational(this.n * o.d + o.n * this.d, this.d * o.d);
  }
  sub(o: Rational): Rational {
    return new Rational(this.n * o.d - o.n * this.d, this.d * o.d);
  }
  mul(o: Rational): Rational {
    return new Rational(this.n * o.n, this.d * o.d);
  }
  div(o: Rational): Rational {
    return new Rational(this.n * o.d, this.d * o.n);
  }
  neg(): Rational {
    return new Rational(-this.n, this.d);
  }
  cmp(o: Rational): number {
    const l = this.n * o.d;
    const r = o.n * this.d;
    return l < r ? -1 : l > r ? 1 : 0;
  }
  eq(o: Rational): boolean {
    return this.cmp(o) === 0;
  }

  /** Floor of value x 10^18: the largest wei amount not above the exact value. */
  floorWad(): bigint {
    const p = this.n * 10n ** 18n;
    const q = p / this.d;
    return p % this.d !== 0n && p < 0n ? q - 1n : q;
  }
  /** Ceiling of value x 10^18: the smallest wei amount not below the exact value. */
  ceilWad(): bigint {
    return -this.neg().floorWad();
  }
  /** Whether value x 10^18 is a whole number of wei. */
  isWholeWad(): boolean {
    return (this.n * 10n ** 18n) % this.d === 0n;
  }

  /** Exact value minus a wei amount, in (possibly fractional) wei, as a rational of wei. */
  weiAbove(x: bigint): Rational {
    return this.mul(Rational.of(10n ** 18n)).sub(Rational.of(x));
  }

  toString(): string {
    return `${this.n}/${this.d}`;
  }
}
