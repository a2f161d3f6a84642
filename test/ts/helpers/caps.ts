/**
 * Issue 13's bound on the open-interest caps, shared by the tests that check the parameter files
 * (regression/CapsVsMargins.test.ts, CurveParams.test.ts).
 */
import { Rational } from "./rational.js";

/**
 * The price swing between the two extremes the caps allow from a balanced pool with base reserve
 * `baseReserve` and cap `cap` per side: 1 - ((b - C) / (b + C))^2 = 4bC / (b + C)^2, exactly.
 */
export function capSwing(baseReserve: bigint, cap: bigint): Rational {
  const ratio = new Rational(baseReserve - cap, baseReserve + cap);
  return Rational.of(1).sub(ratio.mul(ratio));
}
