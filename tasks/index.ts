/**
 * The trader and operator CLI as Hardhat 3 tasks, under the `perp` namespace:
 * `npx hardhat perp open --market ETH --side long --margin 100 --leverage 5 --slippage 0.5%`.
 * Every task takes `--clearing-house` (or CLEARING_HOUSE), `--viewer` (or VIEWER) and `--from`;
 * amounts are human decimal strings. See tasks/commands.ts for what each does.
 */
import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";
import type { NewTaskDefinitionBuilder, TaskDefinition } from "hardhat/types/tasks";
import { CURVE_OPTIONS } from "./curve-options.js";

type Option = { name: string; description: string; defaultValue?: string };

const COMMON: Option[] = [
  {
    name: "clearingHouse",
    description: "ClearingHouse address (default: $CLEARING_HOUSE, then the Ignition deployment)",
  },
  { name: "viewer", description: "ClearingHouseViewer address (default: $VIEWER, then the Ignition deployment)" },
  { name: "from", description: "Account to act as: an index into the network's accounts or an address (default: 0)" },
];
const MARKET: Option = { name: "market", description: "Market symbol (ETH) or Amm address" };
const SLIPPAGE: Option = {
  name: "slippage",
  description: "Largest price move accepted: 0.5%, 50bps or 0.005",
  defaultValue: "0.5%",
};
const DEADLINE: Option = {
  name: "deadline",
  description: "Seconds from now the trade may still execute (default 300)",
};
const RATIOS: Option[] = [
  { name: "imr", description: "Initial margin ratio, e.g. 10% (max leverage 1/imr)" },
  { name: "mmr", description: "Maintenance margin ratio, e.g. 6.25%" },
  { name: "fee", description: "Trading fee, e.g. 0.1%" },
];

/** Each `perp` command's flags as typed (`--clearing-house`), for the misspelt-flag hint (tasks/flags.ts). */
export const CLI_FLAGS: Record<string, string[]> = {};

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function define(
  name: string,
  description: string,
  options: Option[],
  action: Parameters<NewTaskDefinitionBuilder["setAction"]>[0],
): TaskDefinition {
  CLI_FLAGS[name] = [...options, ...COMMON].map((o) => kebab(o.name));
  let builder = task(["perp", name], description) as NewTaskDefinitionBuilder;
  for (const o of [...options, ...COMMON])
    builder =
      o.defaultValue === undefined
        ? builder.addOption({
            name: o.name,
            description: o.description,
            type: ArgumentType.STRING_WITHOUT_DEFAULT,
            defaultValue: undefined,
          })
        : builder.addOption({ name: o.name, description: o.description, defaultValue: o.defaultValue });
  return builder.setAction(action).build();
}

export const cliTasks: TaskDefinition[] = [
  emptyTask("perp", "vAMM perpetuals: trader and operator commands").build(),
  define(
    "deposit",
    "Deposit collateral into the Vault (token units, e.g. 1000 = 1,000 USDC)",
    [{ name: "amount", description: "Token amount" }],
    () => import("./actions/deposit.js"),
  ),
  define(
    "withdraw",
    "Withdraw free collateral from the Vault (token units, or all)",
    [{ name: "amount", description: "Token amount, or all" }],
    () => import("./actions/withdraw.js"),
  ),
  define(
    "faucet",
    "Local and test networks: mint test collateral to your wallet (token units, default 10,000)",
    [{ name: "amount", description: "Token amount (default 10,000)" }],
    () => import("./actions/faucet.js"),
  ),
  define(
    "open",
    "Open, increase, reduce or reverse a position with margin x leverage",
    [
      MARKET,
      { name: "side", description: "long or short" },
      { name: "margin", description: "Margin in quote units, e.g. 100" },
      { name: "leverage", description: "Leverage, e.g. 5 or 5x" },
      SLIPPAGE,
      DEADLINE,
    ],
    () => import("./actions/open.js"),
  ),
  define(
    "reduce",
    "Close part of a position (reducePosition): --size in base",
    [MARKET, { name: "size", description: "Base amount to close, e.g. 0.1" }, SLIPPAGE, DEADLINE],
    () => import("./actions/reduce.js"),
  ),
  define("close", "Close a whole position", [MARKET, SLIPPAGE, DEADLINE], () => import("./actions/close.js")),
  define(
    "add-margin",
    "Move free collateral into a position's margin",
    [MARKET, { name: "amount", description: "Quote amount" }],
    () => import("./actions/add-margin.js"),
  ),
  define(
    "remove-margin",
    "Move margin from a position back to free collateral",
    [MARKET, { name: "amount", description: "Quote amount" }],
    () => import("./actions/remove-margin.js"),
  ),
  define(
    "pay-claims",
    "Pay a market's queued claims (every market's without --market), first in, first out, from its spare pool money",
    [
      { name: "market", description: "Market symbol (ETH) or Amm address (default: every market)" },
      { name: "max", description: "Most claims paid per market (default 20)" },
    ],
    () => import("./actions/pay-claims.js"),
  ),
  define(
    "positions",
    "A trader's positions: size, margin, entry, mark, PnL, margin ratio, liquidation price",
    [{ name: "trader", description: "Trader address (default: the --from account)" }],
    () => import("./actions/positions.js"),
  ),
  define(
    "markets",
    "Every market: mark, index, funding rate, open interest; peg, depth, budget, bid/ask, net position; the insurance fund",
    [],
    () => import("./actions/markets.js"),
  ),
  define(
    "add-market",
    "Operator: list a deployed Amm (defaults: imr 10%, mmr 6.25%, fee 0.1%)",
    [{ name: "amm", description: "Amm address" }, ...RATIOS],
    () => import("./actions/add-market.js"),
  ),
  define(
    "set-params",
    "Operator: change a market's margin ratios, fee, limits or curve parameters (only those given)",
    [
      MARKET,
      ...RATIOS,
      { name: "maxTrade", description: "Largest trade as a fraction of the quote reserve (0 = off)" },
      { name: "fluctuation", description: "Largest price move per block (0 = off)" },
      { name: "maxOpenInterest", description: "Open interest cap per side in base (0 = off)" },
      ...CURVE_OPTIONS.map((o) => ({ name: o.name, description: o.description })),
    ],
    () => import("./actions/set-params.js"),
  ),
  define(
    "contribute-budget",
    "Move free collateral into a market's AMM budget (anyone): it pays the curve's repegs and depth changes",
    [MARKET, { name: "amount", description: "Quote amount, e.g. 1000" }],
    () => import("./actions/contribute-budget.js"),
  ),
  define("pause", "Operator: stop trading", [], () => import("./actions/pause.js")),
  define("unpause", "Operator: resume trading", [], () => import("./actions/unpause.js")),
  define(
    "settle",
    "Operator: shut a market down at its index TWAP (settleMarket)",
    [MARKET],
    () => import("./actions/settle.js"),
  ),
  define(
    "claim",
    "Settle a position of a settled market (settlePosition): records the claim, then pays it",
    [MARKET, { name: "trader", description: "Whose position (default: the --from account)" }],
    () => import("./actions/claim.js"),
  ),
];
