/**
 * The CLI's commands, over a connected {@link PerpClient}: each reads its options as the strings the
 * user typed, checks them, previews, sends and prints. Hardhat tasks (tasks/index.ts) run them
 * through {@link runTask} (tasks/run.ts); the tests call the same entry point.
 */
import type { ContractTransactionReceipt } from "ethers";
import { isAddress, getAddress } from "ethers";
import {
  CliError,
  fmt,
  MarketStatusName,
  Side,
  type MarketInfo,
  type PerpClient,
  slippageBound,
} from "../scripts/lib/client.js";
import { claimStanding, marketMoney, spareForClaims } from "../scripts/lib/claims.js";
import { abs, formatPercent, formatUnits, parseDecimal, WAD, wDivDown } from "../scripts/lib/fixed.js";
import { ChainlinkPriceFeed__factory } from "../typechain-types/index.js";
import { formatFields, formatTable } from "../scripts/lib/format.js";
import {
  parseLeverage,
  parseSide,
  parseWith,
  positiveAmount,
  ratioOption,
  required,
  seconds,
  send,
  sideName,
  signed,
  str,
  type CliContext,
  type Command,
  type TaskArgs,
} from "./cli.js";
import { checkCurveParams, contributeBudget, curveTable, hasCurveOptions, sendCurveParams } from "./curve.js";
import { CURVE_OPTIONS, kebab } from "./curve-options.js";

export {
  parseLeverage,
  parseSide,
  positiveAmount,
  ratioOption,
  type CliContext,
  type Command,
  type TaskArgs,
} from "./cli.js";

function positionChanged(ctx: CliContext, receipt: ContractTransactionReceipt) {
  for (const log of receipt.logs) {
    const parsed = ctx.client.clearingHouse.interface.parseLog(log);
    if (parsed?.name === "PositionChanged") return parsed.args;
  }
  return undefined;
}

async function requirePosition(ctx: CliContext, market: MarketInfo) {
  const p = await ctx.client.clearingHouse.getPosition(market.address, ctx.account);
  if (p.size === 0n) throw new CliError(`${ctx.account} has no position in ${market.symbol}`);
  return p;
}

const tokenAmount = (ctx: CliContext, units: bigint): string =>
  `${formatUnits(units, ctx.client.collateralDecimals, ctx.client.collateralDecimals)} ${ctx.client.collateralSymbol}`;

// ---------------------------------------------------------------- trader commands

/** deposit --amount 1000 (token units: 1000 USDC) */
export const deposit: Command = async (ctx, args) => {
  const { client } = ctx;
  const units = positiveAmount(required(args, "amount", "amount"), "amount", client.collateralDecimals);
  const vault = await client.vault.getAddress();
  const balance = await client.collateral.balanceOf(ctx.account);
  if (balance < units)
    throw new CliError(
      `insufficient collateral: your wallet holds ${tokenAmount(ctx, balance)}, less than the ${tokenAmount(ctx, units)} to deposit` +
        ((await client.hasFaucet(ctx.account))
          ? ` (this is a local or test network: get test ${client.collateralSymbol} with \`npx hardhat perp faucet\`)`
          : ""),
    );
  if ((await client.collateral.allowance(ctx.account, vault)) < units)
    await send(ctx, `approve ${tokenAmount(ctx, units)} to the Vault`, () =>
      client.collateral.connect(ctx.signer).approve(vault, units),
    );
  await send(ctx, `deposit ${tokenAmount(ctx, units)}`, () => client.vault.connect(ctx.signer).deposit(units));
  ctx.out.info(`free collateral: ${fmt(await client.vault.freeCollateral(ctx.account), 6)}`);
};

/** withdraw --amount 500 | all (token units) */
export const withdraw: Command = async (ctx, args) => {
  const { client } = ctx;
  const text = required(args, "amount", "amount");
  const units =
    text.toLowerCase() === "all"
      ? await client.vault.balanceOf(ctx.account)
      : positiveAmount(text, "amount", client.collateralDecimals);
  if (units === 0n) throw new CliError("nothing to withdraw: no free collateral");
  const free = await client.vault.balanceOf(ctx.account);
  if (units > free)
    throw new CliError(
      `--amount ${text} is more than your free collateral: you can withdraw at most ${tokenAmount(ctx, free)} ` +
        `(margin in positions is not free: close or remove margin first)`,
    );
  await send(ctx, `withdraw ${tokenAmount(ctx, units)}`, () => client.vault.connect(ctx.signer).withdraw(units));
  ctx.out.info(`free collateral: ${fmt(await client.vault.freeCollateral(ctx.account), 6)}`);
};

/** The test money `faucet` gives by default, in token units. */
export const FAUCET_DEFAULT = "10,000";

/** faucet [--amount 10000]: mints test collateral to the account, where the collateral has an open faucet. */
export const faucet: Command = async (ctx, args) => {
  const { client } = ctx;
  const units = positiveAmount(str(args, "amount") || FAUCET_DEFAULT, "amount", client.collateralDecimals);
  const chainId = (await client.provider.getNetwork()).chainId;
  if (LIVE_CHAINS.has(chainId))
    throw new CliError(`there is no faucet on chain ${chainId}: it is a live network, where collateral is real money`);
  if (!(await client.hasFaucet(ctx.account, units)))
    throw new CliError(
      `the collateral ${client.collateralSymbol} at ${await client.collateral.getAddress()} has no faucet on this network ` +
        `(only the local system's mock token mints to anyone): get test ${client.collateralSymbol} from the network's own faucet`,
    );
  await send(ctx, `faucet ${tokenAmount(ctx, units)}`, () => client.faucet(ctx.signer, ctx.account, units));
  ctx.out.info(
    `wallet: ${tokenAmount(ctx, await client.collateral.balanceOf(ctx.account))}; ` +
      `next: npx hardhat perp deposit --amount <amount>`,
  );
};

/** Chains whose collateral is real money: no faucet is ever tried there. */
const LIVE_CHAINS = new Set([1n, 10n, 8453n, 42161n, 137n]);

/** The viewer's TradeKind, as the CLI prints it. */
export const TRADE_KIND = ["open", "increase", "reduce", "reversal", "close"] as const;

function requireViewer(ctx: CliContext, what: string) {
  const viewer = ctx.client.viewer;
  if (viewer === undefined)
    throw new CliError(`${what} needs the ClearingHouseViewer for its preview: give --viewer <address> or set VIEWER`);
  return viewer;
}

/** "long 0.25 ETH" or "no position". */
const positionText = (size: bigint, symbol: string): string =>
  size === 0n ? "no position" : `${sideName(size)} ${fmt(abs(size), 6)} ${symbol}`;

/** What moves between free collateral and the position: + back to free collateral, - out of it. */
const freeCollateralText = (delta: bigint): string =>
  delta < 0n
    ? `${fmt(-delta, 6)} out of free collateral`
    : delta > 0n
      ? `${fmt(delta, 6)} back to free collateral`
      : "nothing moves";

/**
 * open --market ETH --side long --margin 100 --leverage 5 --slippage 0.5% [--deadline 300]. The
 * preview is the viewer's previewOpen (the trade's own rules on the same curve); the trade is then
 * run as a staticCall with its bound, so anything it would refuse (the pause, the market's limits)
 * is refused before the preview is printed.
 */
export const open: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const side = parseSide(required(args, "side", "side"));
  const margin = positiveAmount(required(args, "margin", "margin"), "margin");
  const leverage = parseLeverage(required(args, "leverage", "leverage"));
  const slippage = ratioOption(str(args, "slippage") || "0.5%", "slippage", WAD - 1n);
  const deadline = await client.deadline(seconds(str(args, "deadline") || "300", "deadline"));
  const viewer = requireViewer(ctx, "open");
  const p = await viewer.previewOpen(market.address, ctx.account, side, margin, leverage);
  const base = abs(p.baseDelta);
  const baseLimit = slippageBound(base, slippage, side === Side.LONG ? "min" : "max");
  const ch = client.clearingHouse.connect(ctx.signer);
  await ch.openPosition.staticCall(market.address, side, margin, leverage, baseLimit, deadline);
  const sideText = side === Side.LONG ? "long" : "short";
  const kind = TRADE_KIND[Number(p.kind)] ?? `kind ${p.kind}`;
  const fields: [string, string][] = [
    ["trade", `${kind}: ${sideText} ${market.symbol}`],
    ["margin", `${fmt(margin)} x ${fmt(leverage, 2)} = notional ${fmt(p.quoteAmount)}`],
    ["fee", fmt(p.fee, 6)],
    ["expected size", `${fmt(base, 6)} at ${fmt(p.entryPrice)}`],
    [side === Side.LONG ? "min size" : "max size", `${fmt(baseLimit, 6)} (slippage ${formatPercent(slippage)})`],
  ];
  if (p.fundingPayment !== 0n) fields.push(["funding settled", signed(-p.fundingPayment)]);
  if (p.realizedPnl !== 0n) fields.push(["realised PnL", signed(p.realizedPnl)]);
  fields.push(
    [
      "position after",
      p.size === 0n
        ? "none"
        : `${positionText(p.size, market.symbol)}, margin ${fmt(p.margin)}, open notional ${fmt(p.openNotional)}`,
    ],
    ["free collateral", freeCollateralText(p.freeCollateralDelta)],
  );
  if (p.claim !== 0n) fields.push(claimField(p.claim, market.symbol));
  if (p.size !== 0n)
    fields.push([
      "margin ratio after",
      `${formatPercent(p.marginRatio, 2)} at mark ${fmt(p.spotPriceAfter)}, liquidation price ${liquidationText(p.liquidationPrice)}`,
    ]);
  ctx.out.info(formatFields(fields));
  await ctx.beforeSend?.();
  const receipt = await send(ctx, `${kind} ${sideText} ${market.symbol}`, () =>
    ch.openPosition(market.address, side, margin, leverage, baseLimit, deadline),
  );
  printPositionChanged(ctx, receipt, market);
  printClaimQueued(ctx, receipt, market);
};

const liquidationText = (price: bigint): string => (price === 0n ? "none" : fmt(price, 4));

/**
 * The profit a trade could not be paid, from the Vault's ClaimQueued event in its receipt: how much
 * was queued, why, where it stands, and how it gets paid.
 */
function printClaimQueued(ctx: CliContext, receipt: ContractTransactionReceipt, market: MarketInfo): void {
  const vault = ctx.client.vault;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== (vault.target as string).toLowerCase()) continue;
    const parsed = vault.interface.parseLog(log);
    if (parsed?.name !== "ClaimQueued") continue;
    const { amount, totalClaim, index } = parsed.args as unknown as {
      amount: bigint;
      totalClaim: bigint;
      index: bigint;
    };
    ctx.out.info(
      `claim: ${fmt(amount, 6)} of your profit is queued, not paid: ${market.symbol}'s pool holds nothing more than ` +
        `the margins of its open positions and the claims queued before yours (entry #${index} of its queue; ` +
        `you are owed ${fmt(totalClaim, 6)} in ${market.symbol})`,
    );
    ctx.out.info(
      `it is paid first in, first out to your free collateral as ${market.symbol}'s losing positions close or are ` +
        `liquidated: the claims keeper pays it, or anyone with \`npx hardhat perp pay-claims --market ${market.symbol}\`; ` +
        "`npx hardhat perp positions` shows where it stands",
    );
  }
}

/** A preview's claim, when the trade's profit would be partly queued. */
const claimField = (claim: bigint, symbol: string): [string, string] => [
  "claim",
  `${fmt(claim, 6)} of the profit would be queued as your claim (${symbol}'s pool cannot pay it now)`,
];

/** The position a trade left, from its PositionChanged event. */
function printPositionChanged(ctx: CliContext, receipt: ContractTransactionReceipt, market: MarketInfo): void {
  const e = positionChanged(ctx, receipt);
  if (e === undefined) return;
  const size = e.size as bigint;
  const entry = size === 0n ? 0n : wDivDown(e.openNotional as bigint, abs(size));
  ctx.out.info(
    (size === 0n
      ? `position: closed`
      : `position: ${positionText(size, market.symbol)}, margin ${fmt(e.margin)}, entry ${fmt(entry)}`) +
      `, fee ${fmt(e.fee, 6)}` +
      (e.realizedPnl !== 0n ? `, realised PnL ${signed(e.realizedPnl)}` : "") +
      `; ${freeCollateralText(e.freeCollateralDelta as bigint)}`,
  );
}

/**
 * reduce --market ETH --size 0.1 [--slippage 0.5%] [--deadline 300]: closes part of a position
 * (reducePosition). No viewer function previews a reduce, and none is copied here: the exit quote is
 * the Amm's previewSwapBase (the curve the trade runs), the trade is checked by a staticCall of
 * reducePosition itself with that bound (its own errors for bad input), and the resulting position
 * (PnL, margin, payout) is printed from the trade's PositionChanged event once it is mined.
 */
export const reduce: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const amount = positiveAmount(required(args, "size", "size"), "size");
  const slippage = ratioOption(str(args, "slippage") || "0.5%", "slippage", WAD - 1n);
  const deadline = await client.deadline(seconds(str(args, "deadline") || "300", "deadline"));
  const position = await requirePosition(ctx, market);
  if (amount > abs(position.size))
    throw new CliError(
      `--size ${fmt(amount, 6)} is more than your ${positionText(position.size, market.symbol)} position`,
    );
  const quote = await market.amm.previewSwapBase(position.size, amount);
  const long = position.size > 0n;
  const quoteLimit = slippageBound(quote, slippage, long ? "min" : "max");
  const ch = client.clearingHouse.connect(ctx.signer);
  await ch.reducePosition.staticCall(market.address, amount, quoteLimit, deadline);
  ctx.out.info(
    formatFields([
      ["reduce", `${fmt(amount, 6)} of your ${positionText(position.size, market.symbol)}`],
      ["remaining size", positionText(long ? position.size - amount : position.size + amount, market.symbol)],
      [long ? "expected proceeds" : "expected cost", fmt(quote)],
      [long ? "min proceeds" : "max cost", `${fmt(quoteLimit)} (slippage ${formatPercent(slippage)})`],
      ["checked", "a staticCall of reducePosition passes; PnL, fee and margin are read from the trade"],
    ]),
  );
  await ctx.beforeSend?.();
  const receipt = await send(ctx, `reduce ${market.symbol}`, () =>
    ch.reducePosition(market.address, amount, quoteLimit, deadline),
  );
  printPositionChanged(ctx, receipt, market);
  printClaimQueued(ctx, receipt, market);
};

/** close --market ETH [--slippage 0.5%] [--deadline 300] */
export const close: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const slippage = ratioOption(str(args, "slippage") || "0.5%", "slippage", WAD - 1n);
  const deadline = await client.deadline(seconds(str(args, "deadline") || "300", "deadline"));
  await requireNotSettled(ctx, market);
  await requirePosition(ctx, market);
  const q = await client.quoteClose(market, ctx.account, slippage);
  const fields: [string, string][] = [
    ["close", `${sideName(q.size)} ${fmt(abs(q.size), 6)} ${market.symbol}`],
    [q.size > 0n ? "expected proceeds" : "expected cost", fmt(q.exitQuote)],
    [q.size > 0n ? "min proceeds" : "max cost", `${fmt(q.quoteLimit)} (slippage ${formatPercent(slippage)})`],
    ["fee", fmt(q.fee, 6)],
  ];
  // The viewer's previewClose runs the close's own rules: what it pays, and what it would queue.
  if (client.viewer !== undefined) {
    const p = await client.viewer.previewClose(market.address, ctx.account);
    fields.push(["payout", `${fmt(p.payout, 6)} back to free collateral`]);
    if (p.claim !== 0n) fields.push(claimField(p.claim, market.symbol));
  }
  ctx.out.info(formatFields(fields));
  await ctx.beforeSend?.();
  const receipt = await send(ctx, `close ${market.symbol}`, () =>
    client.clearingHouse.connect(ctx.signer).closePosition(market.address, q.quoteLimit, deadline),
  );
  const e = positionChanged(ctx, receipt);
  if (e !== undefined)
    ctx.out.info(
      `closed: realised PnL ${signed(e.realizedPnl)}, funding ${signed(0n - (e.fundingPayment as bigint))}, fee ${fmt(e.fee, 6)}, ` +
        `${fmt(e.freeCollateralDelta)} back to free collateral`,
    );
  printClaimQueued(ctx, receipt, market);
};

const SETTLED = 2n;

/** A settled market's positions are not closed but claimed: say so before any preview. */
async function requireNotSettled(ctx: CliContext, market: MarketInfo): Promise<void> {
  const status = await ctx.client.clearingHouse.getMarketStatus(market.address);
  if (BigInt(status.status) === SETTLED)
    throw new CliError(
      `${market.symbol} has been settled: positions are not closed but claimed at the settlement price ` +
        `(npx hardhat perp claim --market ${market.symbol})`,
    );
}

/**
 * claim --market ETH [--trader 0x...]: settles a position of a settled market (settlePosition). The
 * first call records the claim; once every position is recorded, a call pays it to free collateral.
 */
export const claim: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const traderText = str(args, "trader");
  if (traderText !== "" && !isAddress(traderText)) throw new CliError(`--trader "${traderText}" is not an address`);
  const trader = traderText === "" ? ctx.account : getAddress(traderText);
  const ch = client.clearingHouse.connect(ctx.signer);
  await ch.settlePosition.staticCall(market.address, trader);
  const receipt = await send(ctx, `claim ${market.symbol}`, () => ch.settlePosition(market.address, trader));
  let said = false;
  for (const log of receipt.logs) {
    const parsed = client.clearingHouse.interface.parseLog(log);
    if (parsed?.name === "SettlementRecorded") {
      said = true;
      ctx.out.info(`claim recorded: ${fmt(parsed.args.claim as bigint, 6)} at the settlement price`);
    } else if (parsed?.name === "SettlementPaid") {
      said = true;
      ctx.out.info(`paid: ${fmt(parsed.args.payout as bigint, 6)} to free collateral`);
    }
  }
  if (!said) ctx.out.info("nothing changed");
  const s = await client.clearingHouse.getSettlement(market.address);
  if (s.recordedLong !== s.openLong || s.recordedShort !== s.openShort)
    ctx.out.info(
      `the payout waits until every position is recorded (long ${fmt(s.recordedLong, 6)} of ${fmt(s.openLong, 6)}, ` +
        `short ${fmt(s.recordedShort, 6)} of ${fmt(s.openShort, 6)}): claim again then`,
    );
};

/** The most queue entries `pay-claims` pays per market by default (its --max). */
export const PAY_CLAIMS_DEFAULT = 20;

/**
 * pay-claims [--market ETH] [--max 20]: pays the market's queued claims (every market's without
 * --market) from what its pool holds beyond its locked margin, first in, first out, to the
 * claimants' free collateral (Vault.payClaims, which anyone may call). A market whose pool has
 * nothing spare is reported, not sent.
 */
export const payClaims: Command = async (ctx, args) => {
  const { client } = ctx;
  const given = str(args, "market");
  const max = str(args, "max") || String(PAY_CLAIMS_DEFAULT);
  if (!/^\d+$/.test(max) || Number(max) < 1 || Number(max) > 1_000)
    throw new CliError(`--max must be a whole number of claims from 1 to 1,000, got ${max}`);
  const selected = given === "" ? client.markets : [client.market(given)];
  const vault = client.vault.connect(ctx.signer);
  let queued = 0;
  for (const market of selected) {
    const money = await marketMoney(client.vault, market.address);
    if (money.head === money.tail) continue;
    queued++;
    const spare = spareForClaims(money);
    if (spare === 0n) {
      const line =
        `nothing to pay in ${market.symbol} yet: its pool holds ${fmt(money.pool, 6)}, no more than the ` +
        `${fmt(money.lockedMargin, 6)} of margin backing its open positions; the ${fmt(money.claims, 6)} queued ` +
        "is paid as its losing positions close or are liquidated";
      if (given !== "") throw new CliError(line);
      ctx.out.info(line);
      continue;
    }
    await vault.payClaims.staticCall(market.address, BigInt(max));
    const receipt = await send(ctx, `pay claims ${market.symbol}`, () => vault.payClaims(market.address, BigInt(max)));
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== (vault.target as string).toLowerCase()) continue;
      const parsed = vault.interface.parseLog(log);
      if (parsed?.name !== "ClaimPaid") continue;
      const { trader, amount, remainingClaim } = parsed.args as unknown as {
        trader: string;
        amount: bigint;
        remainingClaim: bigint;
      };
      ctx.out.info(
        `paid ${fmt(amount, 6)} to ${trader}` +
          (remainingClaim === 0n ? "" : ` (still owed ${fmt(remainingClaim, 6)} in ${market.symbol})`),
      );
    }
    const left = await marketMoney(client.vault, market.address);
    ctx.out.info(
      left.head === left.tail
        ? `${market.symbol}: every queued claim is paid`
        : `${market.symbol}: ${fmt(left.claims, 6)} still queued in ${left.tail - left.head} claim(s)`,
    );
  }
  if (queued === 0)
    throw new CliError(
      given === "" ? "no claims are queued in any market" : `no claims are queued in ${selected[0].symbol}`,
    );
};

async function changeMargin(ctx: CliContext, args: TaskArgs, add: boolean): Promise<void> {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const amount = positiveAmount(required(args, "amount", "amount"), "amount");
  await requirePosition(ctx, market);
  if (!add && client.viewer !== undefined) {
    const max = await client.viewer.maxRemovableMargin(market.address, ctx.account);
    if (amount > max) {
      const params = await client.clearingHouse.getMarketParams(market.address);
      throw new CliError(
        `you can remove at most ${fmt(max, 6)} margin from ${market.symbol} now ` +
          `(the position must keep the ${formatPercent(params.initialMarginRatio)} initial margin ratio)`,
      );
    }
    ctx.out.info(`removable now: at most ${fmt(max, 6)}`);
  }
  const ch = client.clearingHouse.connect(ctx.signer);
  await send(ctx, `${add ? "add" : "remove"} margin ${fmt(amount)} ${add ? "to" : "from"} ${market.symbol}`, () =>
    add ? ch.addMargin(market.address, amount) : ch.removeMargin(market.address, amount),
  );
  const p = await client.clearingHouse.getPosition(market.address, ctx.account);
  const ratio = await client.clearingHouse.getMarginRatio(market.address, ctx.account);
  ctx.out.info(`margin: ${fmt(p.margin)}, margin ratio ${formatPercent(ratio, 2)}`);
}

/** add-margin --market ETH --amount 50 */
export const addMargin: Command = (ctx, args) => changeMargin(ctx, args, true);
/** remove-margin --market ETH --amount 50 */
export const removeMargin: Command = (ctx, args) => changeMargin(ctx, args, false);

// ---------------------------------------------------------------- read-only commands

/**
 * positions [--trader 0x...]: every market, with PnL, the spot margin ratio and the one liquidation
 * is judged by (getLiquidationMarginRatio), and the viewer's liquidation price. A position of a
 * settled market is marked as such (it has no live risk left): it is claimed with `perp claim`.
 */
export const positions: Command = async (ctx, args) => {
  const { client } = ctx;
  const traderText = str(args, "trader");
  if (traderText !== "" && !isAddress(traderText)) throw new CliError(`--trader "${traderText}" is not an address`);
  const trader = traderText === "" ? ctx.account : getAddress(traderText);
  const markets = client.markets;
  const views = await readPositions(client, markets, trader);
  const rows: string[][] = [];
  const settled: string[] = [];
  for (let i = 0; i < markets.length; i++) {
    const v = views[i];
    const status = BigInt((await client.clearingHouse.getMarketStatus(markets[i].address)).status);
    if (status === SETTLED) {
      const p = await client.clearingHouse.getPosition(markets[i].address, trader);
      if (p.size === 0n && p.margin === 0n) continue;
      const price = (await client.clearingHouse.getSettlement(markets[i].address)).price;
      settled.push(
        p.size === 0n
          ? `${markets[i].symbol}: settled at ${fmt(price)}; claim of ${fmt(p.margin, 6)} recorded, ` +
              `paid once every position is recorded (npx hardhat perp claim --market ${markets[i].symbol})`
          : `${markets[i].symbol}: settled at ${fmt(price)}; your ${positionText(p.size, markets[i].symbol)} ` +
              `(margin ${fmt(p.margin, 2)}) is claimed, not closed: npx hardhat perp claim --market ${markets[i].symbol}`,
      );
      continue;
    }
    if (v.size === 0n) continue;
    const mark = await markets[i].amm.getSpotPrice();
    rows.push([
      markets[i].symbol,
      sideName(v.size),
      fmt(abs(v.size), 6),
      fmt(v.margin, 2),
      fmt(wDivDown(v.openNotional, abs(v.size)), 4),
      fmt(mark, 4),
      signed(v.unrealizedPnl, 2),
      signed(-v.pendingFunding, 4),
      formatPercent(v.marginRatio, 2),
      formatPercent(v.liquidationMarginRatio, 2) + (v.liquidatable ? " LIQUIDATABLE" : ""),
      v.liquidationPrice === undefined ? "n/a" : v.liquidationPrice === 0n ? "-" : fmt(v.liquidationPrice, 4),
    ]);
  }
  const claims = await claimLines(client, markets, views, trader);
  const owed = views.reduce((sum, v) => sum + v.claim, 0n);
  ctx.out.info(
    `trader ${trader}, free collateral ${fmt(await client.vault.freeCollateral(trader), 6)}` +
      (owed > 0n ? `, claims ${fmt(owed, 6)} pending` : ""),
  );
  if (rows.length === 0 && settled.length === 0) {
    ctx.out.info("no open positions");
    for (const line of claims) ctx.out.info(line);
    return;
  }
  if (rows.length > 0) {
    ctx.out.info(
      formatTable(
        [
          "market",
          "side",
          "size",
          "margin",
          "entry",
          "mark",
          "PnL",
          "funding",
          "margin ratio",
          "liq. ratio",
          "liq. price",
        ],
        rows,
      ),
    );
    ctx.out.info(
      "margin ratio: at the spot price; liq. ratio: the one liquidation is judged by (spot, mark TWAP and index); " +
        "liq. price: the spot price at which the spot ratio reaches maintenance",
    );
  }
  for (const line of settled) ctx.out.info(line);
  for (const line of claims) ctx.out.info(line);
  if (client.viewer === undefined)
    ctx.out.info("(liquidation prices need the ClearingHouseViewer: --viewer or VIEWER)");
};

/**
 * One line per market where `trader` is owed a claim: how much, where it stands in the queue, and
 * what the market's pool can pay toward the queue now.
 */
async function claimLines(
  client: PerpClient,
  markets: readonly MarketInfo[],
  views: readonly PositionRow[],
  trader: string,
): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, m] of markets.entries()) {
    if (views[i].claim === 0n) continue;
    const money = await marketMoney(client.vault, m.address);
    const standing = await claimStanding(client.vault, m.address, trader, money);
    const place =
      standing.index === undefined
        ? `more than ${fmt(standing.ahead, 6)} owed ahead of it`
        : `entry #${standing.index} of its queue, ${fmt(standing.ahead, 6)} owed ahead of it`;
    const spare = spareForClaims(money);
    lines.push(
      `${m.symbol}: claim of ${fmt(views[i].claim, 6)} pending (${place}); ` +
        (spare === 0n
          ? `paid first in, first out as ${m.symbol}'s losing positions close or are liquidated`
          : `${m.symbol}'s pool can pay ${fmt(spare, 6)} of the queue now: npx hardhat perp pay-claims --market ${m.symbol}`),
    );
  }
  return lines;
}

interface PositionRow {
  size: bigint;
  margin: bigint;
  openNotional: bigint;
  pendingFunding: bigint;
  unrealizedPnl: bigint;
  marginRatio: bigint;
  liquidationMarginRatio: bigint;
  liquidatable: boolean;
  liquidationPrice?: bigint;
  /** What the trader is owed in the market by queued claims. */
  claim: bigint;
}

/** Through the viewer in one call when there is one; else from the ClearingHouse, market by market. */
async function readPositions(
  client: PerpClient,
  markets: readonly MarketInfo[],
  trader: string,
): Promise<PositionRow[]> {
  if (markets.length === 0) return [];
  if (client.viewer !== undefined)
    return client.viewer.getPositions(
      markets.map((m) => m.address),
      markets.map(() => trader),
    );
  const ch = client.clearingHouse;
  return Promise.all(
    markets.map(async (m) => {
      const [p, claim] = await Promise.all([
        ch.getPosition(m.address, trader),
        client.vault.claimOf(m.address, trader),
      ]);
      if (p.size === 0n) return { ...zeroRow, claim };
      const [pnl, ratio, funding, liquidationRatio, params] = await Promise.all([
        ch.getUnrealizedPnl(m.address, trader),
        ch.getMarginRatio(m.address, trader),
        ch.getPendingFunding(m.address, trader),
        ch.getLiquidationMarginRatio(m.address, trader),
        ch.getMarketParams(m.address),
      ]);
      return {
        size: p.size,
        margin: p.margin,
        openNotional: p.openNotional,
        pendingFunding: funding,
        unrealizedPnl: pnl,
        marginRatio: ratio,
        liquidationMarginRatio: liquidationRatio,
        liquidatable: liquidationRatio < params.maintenanceMarginRatio,
        claim,
      };
    }),
  );
}
const zeroRow: PositionRow = {
  size: 0n,
  margin: 0n,
  openNotional: 0n,
  pendingFunding: 0n,
  unrealizedPnl: 0n,
  marginRatio: 0n,
  liquidationMarginRatio: 0n,
  liquidatable: false,
  claim: 0n,
};

/** The index price: the oracle's current one when valid, else the last the market recorded. */
async function indexPrice(market: MarketInfo): Promise<bigint | undefined> {
  const [feed, asset] = await market.amm.getOracle();
  if (feed !== "0x0000000000000000000000000000000000000000") {
    const [valid, price] = await ChainlinkPriceFeed__factory.connect(feed, market.amm.runner)
      .tryGetPrice(asset)
      .catch(() => [false, 0n] as const);
    if (valid) return price;
  }
  return market.amm.getIndexTwap(0).catch(() => undefined);
}

/**
 * markets: mark, index, funding rate, open interest, limits, status; the insurance fund; and each
 * market with queued claims, its pool and the margin of it that backs open positions.
 */
export const markets: Command = async (ctx) => {
  const { client } = ctx;
  const rows: string[][] = [];
  for (const m of client.markets) {
    const [mark, index, funding, oi, params, status] = await Promise.all([
      m.amm.getSpotPrice(),
      indexPrice(m),
      m.amm.getFundingState(),
      m.amm.getOpenInterest(),
      client.clearingHouse.getMarketParams(m.address),
      client.clearingHouse.getMarketStatus(m.address),
    ]);
    // The premium is quote per base per day: as a rate, over the index (the mark without one).
    const reference = index ?? mark;
    const rate = reference === 0n ? 0n : (funding.premium * WAD) / reference;
    rows.push([
      m.symbol,
      MarketStatusName[Number(status.status)] ?? String(status.status),
      fmt(mark, 4),
      index === undefined ? "n/a" : fmt(index, 4),
      `${rate > 0n ? "+" : ""}${formatPercent(rate, 4)}`,
      fmt(oi.longSize, 4),
      fmt(oi.shortSize, 4),
      params.initialMarginRatio === 0n ? "-" : `${fmt((WAD * WAD) / params.initialMarginRatio, 2)}x`,
      formatPercent(params.feeRatio, 3),
      m.address,
    ]);
  }
  if (rows.length === 0) ctx.out.info("no markets listed");
  else
    ctx.out.info(
      formatTable(
        ["market", "status", "mark", "index", "funding/day", "long OI", "short OI", "max lev.", "fee", "address"],
        rows,
      ),
    );
  if (rows.length > 0) {
    ctx.out.info(await curveTable(client));
    ctx.out.info(
      "peg and depth: multiples of the launch price and liquidity; budget: the AMM's own money for repegs and depth " +
        "changes; bid/ask: the spot price with the marginal spread; net position: longs - shorts (the protocol holds the opposite)",
    );
  }
  const [, insurance] = await client.vault.getPoolBalances();
  const paused = await client.clearingHouse.paused();
  ctx.out.info(`insurance fund: ${fmt(insurance, 6)}${paused ? "   (trading is PAUSED)" : ""}`);
  for (const m of client.markets) {
    const money = await marketMoney(client.vault, m.address);
    if (money.head === money.tail) continue;
    ctx.out.info(
      `${m.symbol}: claims ${fmt(money.claims, 6)} queued in ${money.tail - money.head} entr${money.tail - money.head === 1n ? "y" : "ies"}; ` +
        `pool ${fmt(money.pool, 6)}, of which ${fmt(money.lockedMargin, 6)} backs open positions` +
        (spareForClaims(money) > 0n ? ` (pay them: npx hardhat perp pay-claims --market ${m.symbol})` : ""),
    );
  }
};

// ---------------------------------------------------------------- operator commands

/** add-market --amm 0x... [--imr 10%] [--mmr 6.25%] [--fee 0.1%] */
export const addMarket: Command = async (ctx, args) => {
  const { client } = ctx;
  const ammText = required(args, "amm", "amm");
  if (!isAddress(ammText)) throw new CliError(`--amm "${ammText}" is not an address`);
  const amm = getAddress(ammText);
  const params = {
    initialMarginRatio: ratioOption(str(args, "imr") || "10%", "imr"),
    maintenanceMarginRatio: ratioOption(str(args, "mmr") || "6.25%", "mmr"),
    feeRatio: ratioOption(str(args, "fee") || "0.1%", "fee"),
  };
  await send(ctx, `add market ${amm}`, () => client.clearingHouse.connect(ctx.signer).addMarket(amm, params));
  await client.refreshMarkets();
  ctx.out.info(
    `listed ${client.nameOf(amm)}: initial margin ${formatPercent(params.initialMarginRatio)}, ` +
      `maintenance ${formatPercent(params.maintenanceMarginRatio)}, fee ${formatPercent(params.feeRatio)}`,
  );
};

/**
 * set-params --market ETH [--imr] [--mmr] [--fee] [--max-trade] [--fluctuation] [--max-open-interest]
 * [any curve option: --repeg-threshold, --base-spread, ... (tasks/curve.ts)]
 */
export const setParams: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const given = (n: string) => str(args, n) !== "";
  if (!["imr", "mmr", "fee", "maxTrade", "fluctuation", "maxOpenInterest"].some(given) && !hasCurveOptions(args))
    throw new CliError(
      "nothing to set: give --imr, --mmr, --fee, --max-trade, --fluctuation, --max-open-interest or a curve option " +
        `(${CURVE_OPTIONS.map((o) => `--${kebab(o.name)}`).join(", ")})`,
    );
  // The curve's new parameters are checked by the contract before anything is sent.
  const curve = hasCurveOptions(args) ? await checkCurveParams(ctx, market, args) : undefined;
  if (given("imr") || given("mmr") || given("fee")) {
    const cur = await client.clearingHouse.getMarketParams(market.address);
    const params = {
      initialMarginRatio: given("imr") ? ratioOption(str(args, "imr"), "imr") : cur.initialMarginRatio,
      maintenanceMarginRatio: given("mmr") ? ratioOption(str(args, "mmr"), "mmr") : cur.maintenanceMarginRatio,
      feeRatio: given("fee") ? ratioOption(str(args, "fee"), "fee") : cur.feeRatio,
    };
    await send(ctx, `set ${market.symbol} margin and fee`, () =>
      client.clearingHouse.connect(ctx.signer).setMarketParams(market.address, params),
    );
    ctx.out.info(
      `${market.symbol}: initial margin ${formatPercent(params.initialMarginRatio)}, ` +
        `maintenance ${formatPercent(params.maintenanceMarginRatio)}, fee ${formatPercent(params.feeRatio)}`,
    );
  }
  if (given("maxTrade") || given("fluctuation") || given("maxOpenInterest")) {
    const cur = await market.amm.getLimits();
    const limits = {
      maxTradeRatio: given("maxTrade") ? ratioOption(str(args, "maxTrade"), "max-trade") : cur.maxTradeRatio,
      fluctuationLimitRatio: given("fluctuation")
        ? ratioOption(str(args, "fluctuation"), "fluctuation")
        : cur.fluctuationLimitRatio,
      maxOpenInterest: given("maxOpenInterest")
        ? parseWith(str(args, "maxOpenInterest"), "max-open-interest", (x) => parseDecimal(x, 18))
        : cur.maxOpenInterest,
    };
    if (limits.maxOpenInterest < 0n) throw new CliError("--max-open-interest must be 0 (off) or positive");
    await send(ctx, `set ${market.symbol} limits`, () => market.amm.connect(ctx.signer).setLimits(limits));
    const off = (v: bigint, f: (x: bigint) => string) => (v === 0n ? "off" : f(v));
    ctx.out.info(
      `${market.symbol}: max trade ${off(limits.maxTradeRatio, formatPercent)} of the quote reserve, ` +
        `price move per block ${off(limits.fluctuationLimitRatio, formatPercent)}, ` +
        `open interest cap ${off(limits.maxOpenInterest, (x) => fmt(x))} per side`,
    );
  }
  if (curve !== undefined) await sendCurveParams(ctx, market, curve);
};

/** contribute-budget --market ETH --amount 1000 (quote): see tasks/curve.ts. */
export const contributeToBudget: Command = contributeBudget;

export const pause: Command = async (ctx) => {
  if (await ctx.client.clearingHouse.paused()) throw new CliError("trading is already paused");
  await send(ctx, "pause", () => ctx.client.clearingHouse.connect(ctx.signer).pause());
  ctx.out.info("trading is paused");
};

export const unpause: Command = async (ctx) => {
  if (!(await ctx.client.clearingHouse.paused())) throw new CliError("trading is not paused");
  await send(ctx, "unpause", () => ctx.client.clearingHouse.connect(ctx.signer).unpause());
  ctx.out.info("trading is live");
};

/**
 * settle --market ETH: shuts the market down at its index TWAP (settleMarket), which refreshes the
 * index first and refuses a TWAP more than 2% from it (SettlementIndexStale).
 */
export const settle: Command = async (ctx, args) => {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  await send(ctx, `settle ${market.symbol}`, () =>
    client.clearingHouse.connect(ctx.signer).settleMarket(market.address),
  );
  const s = await client.clearingHouse.getSettlement(market.address);
  ctx.out.info(
    `${market.symbol} settled at ${fmt(s.price)}; open interest long ${fmt(s.openLong, 6)}, short ${fmt(s.openShort, 6)}. ` +
      `Each position is now claimed: npx hardhat perp claim --market ${market.symbol} [--trader 0x...].`,
  );
};

/** Every command by task name. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  deposit,
  withdraw,
  faucet,
  open,
  reduce,
  close,
  "add-margin": addMargin,
  "remove-margin": removeMargin,
  positions,
  markets,
  "add-market": addMarket,
  "set-params": setParams,
  pause,
  unpause,
  settle,
  claim,
  "pay-claims": payClaims,
  "contribute-budget": contributeToBudget,
};
