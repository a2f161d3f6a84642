import { useState } from "react";
import type { Abi, Address } from "viem";
import { useConfig } from "wagmi";
import { getPublicClient } from "wagmi/actions";
import { clearingHouseAbi, mockErc20Abi, vaultAbi } from "../generated/abis.ts";
import { fmt, parseAmount, signed } from "../lib/format.ts";
import { read, useChainQuery, useSystem, useToken, useTx } from "../lib/system.ts";
import { TxStatus } from "./TxStatus.tsx";

interface HistoryRow {
  key: string;
  block: bigint;
  what: string;
  detail: string;
}

/** The trader's own trades, margin moves, liquidations, deposits and withdrawals, from events. */
function useHistory() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const names = new Map((deployment?.markets ?? []).map((m) => [m.amm.toLowerCase(), m.symbol]));
  return useChainQuery(
    ["history", chainId, account],
    async (): Promise<HistoryRow[]> => {
      const client = getPublicClient(config, { chainId })!;
      const ch = deployment!.contracts.ClearingHouse;
      const vault = deployment!.contracts.Vault;
      const events = (address: Address, abi: Abi, eventName: string, args: Record<string, Address>) =>
        client.getContractEvents({ address, abi, eventName, args, fromBlock: 0n }) as Promise<
          { args: Record<string, bigint | Address | boolean>; blockNumber: bigint; logIndex: number }[]
        >;
      const [trades, margins, liquidations, deposits, withdrawals] = await Promise.all([
        events(ch, clearingHouseAbi, "PositionChanged", { trader: account! }),
        events(ch, clearingHouseAbi, "MarginChanged", { trader: account! }),
        events(ch, clearingHouseAbi, "PositionLiquidated", { trader: account! }),
        events(vault, vaultAbi, "Deposited", { trader: account! }),
        events(vault, vaultAbi, "Withdrawn", { trader: account! }),
      ]);
      const m = (a: unknown) => names.get(String(a).toLowerCase()) ?? String(a);
      const rows: HistoryRow[] = [
        ...trades.map((e) => ({
          key: `${e.blockNumber}-${e.logIndex}`,
          block: e.blockNumber,
          what: `Trade ${m(e.args.amm)}`,
          detail:
            `size ${signed(e.args.baseDelta as bigint, 6)} for ${fmt(e.args.quoteAmount as bigint, 18, 4)} USDC, ` +
            `fee ${fmt(e.args.fee as bigint, 18, 4)}, PnL ${signed(e.args.realizedPnl as bigint, 4)}, ` +
            `funding ${signed(e.args.fundingPayment as bigint, 6)}; now ${fmt(e.args.size as bigint, 18, 6)}`,
        })),
        ...margins.map((e) => ({
          key: `${e.blockNumber}-${e.logIndex}`,
          block: e.blockNumber,
          what: `Margin ${m(e.args.amm)}`,
          detail: `${signed(e.args.amount as bigint, 4)} USDC, margin now ${fmt(e.args.margin as bigint, 18, 4)}`,
        })),
        ...liquidations.map((e) => ({
          key: `${e.blockNumber}-${e.logIndex}`,
          block: e.blockNumber,
          what: `Liquidated ${m(e.args.amm)}`,
          detail: `${fmt(e.args.baseClosed as bigint, 18, 6)} closed, bad debt ${fmt(e.args.badDebt as bigint, 18, 4)}`,
        })),
        ...deposits.map((e) => ({
          key: `${e.blockNumber}-${e.logIndex}`,
          block: e.blockNumber,
          what: "Deposit",
          detail: `${fmt(e.args.amount as bigint, 6, 6)} USDC`,
        })),
        ...withdrawals.map((e) => ({
          key: `${e.blockNumber}-${e.logIndex}`,
          block: e.blockNumber,
          what: "Withdrawal",
          detail: `${fmt(e.args.amount as bigint, 6, 6)} USDC`,
        })),
      ];
      return rows.sort((a, b) => (a.block === b.block ? b.key.localeCompare(a.key) : a.block > b.block ? -1 : 1));
    },
    deployment !== undefined && account !== undefined,
  );
}

/** Wallet balance, allowance, free collateral; approve, deposit, withdraw (and a faucet on a local node). */
export function Account() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const token = useToken();
  const tx = useTx();
  const history = useHistory();
  const [approveText, setApproveText] = useState("1000");
  const [depositText, setDepositText] = useState("1000");
  const [withdrawText, setWithdrawText] = useState("");
  const vault = deployment?.contracts.Vault;
  const balances = useChainQuery(
    ["account", chainId, account, token?.address],
    async () => {
      const t = (functionName: string, args: readonly unknown[]) =>
        read<bigint>(config, chainId, { address: token!.address, abi: mockErc20Abi, functionName, args });
      const [wallet, allowance, free] = await Promise.all([
        t("balanceOf", [account!]),
        t("allowance", [account!, vault!]),
        read<bigint>(config, chainId, {
          address: vault!,
          abi: vaultAbi,
          functionName: "freeCollateral",
          args: [account!],
        }),
      ]);
      return { wallet, allowance, free };
    },
    account !== undefined && token !== undefined && vault !== undefined,
  );
  if (account === undefined) return <p>Connect a wallet to see your account.</p>;
  if (!token || !balances.data) return <p>Loading the account…</p>;
  const d = token.decimals;
  const { wallet, allowance, free } = balances.data;
  const approve = parseAmount(approveText, d);
  const deposit = parseAmount(depositText, d);
  const withdraw = parseAmount(withdrawText, d);
  const depositError =
    deposit !== undefined && deposit > allowance
      ? `approve at least ${depositText} ${token.symbol} for the Vault first`
      : deposit !== undefined && deposit > wallet
        ? `the wallet holds only ${fmt(wallet, d, d)} ${token.symbol}`
        : undefined;
  const tokenCall = (functionName: string, args: readonly unknown[]) => ({
    address: token.address,
    abi: mockErc20Abi,
    functionName,
    args,
  });
  const vaultCall = (functionName: string, args: readonly unknown[]) => ({
    address: vault!,
    abi: vaultAbi,
    functionName,
    args,
  });

  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      <dl className="kv">
        <dt>Wallet</dt>
        <dd data-testid="wallet-balance">
          {fmt(wallet, d, 2)} {token.symbol}
        </dd>
        <dt>Allowance for the Vault</dt>
        <dd data-testid="allowance">
          {fmt(allowance, d, 2)} {token.symbol}
        </dd>
        <dt>Free collateral</dt>
        <dd data-testid="free-collateral" data-raw={String(free)}>
          {fmt(free, 18, 6)} USDC
        </dd>
      </dl>
      <div className="actions">
        {deployment?.dev && (
          <div className="row">
            <button
              type="button"
              className="secondary"
              disabled={tx.busy}
              onClick={() => tx.send("Faucet", tokenCall("mint", [account, 10_000n * 10n ** BigInt(d)]))}
            >
              Get 10,000 test {token.symbol}
            </button>
          </div>
        )}
        <div className="row">
          <label htmlFor="approve-amount">Approve ({token.symbol})</label>
          <input
            id="approve-amount"
            inputMode="decimal"
            value={approveText}
            onChange={(e) => setApproveText(e.target.value)}
          />
          <button
            type="button"
            disabled={tx.busy || approve === undefined}
            onClick={() => tx.send("Approve", tokenCall("approve", [vault, approve]))}
          >
            Approve
          </button>
        </div>
        <div className="row">
          <label htmlFor="deposit-amount">Deposit ({token.symbol})</label>
          <input
            id="deposit-amount"
            inputMode="decimal"
            value={depositText}
            onChange={(e) => setDepositText(e.target.value)}
            aria-invalid={depositError !== undefined}
          />
          <button
            type="button"
            disabled={tx.busy || !deposit || depositError !== undefined}
            onClick={() => tx.send("Deposit", vaultCall("deposit", [deposit]))}
          >
            Deposit
          </button>
          {depositError && <span className="hint">{depositError}</span>}
        </div>
        <div className="row">
          <label htmlFor="withdraw-amount">Withdraw ({token.symbol})</label>
          <input
            id="withdraw-amount"
            inputMode="decimal"
            value={withdrawText}
            onChange={(e) => setWithdrawText(e.target.value)}
          />
          <button
            type="button"
            className="secondary"
            onClick={() => setWithdrawText(fmt(free / 10n ** BigInt(18 - d), d, d).replace(/,/g, ""))}
          >
            Max
          </button>
          <button
            type="button"
            disabled={tx.busy || !withdraw}
            onClick={async () => (await tx.send("Withdraw", vaultCall("withdraw", [withdraw]))) && setWithdrawText("")}
          >
            Withdraw
          </button>
        </div>
      </div>
      <TxStatus state={tx.state} />
      <h3>History</h3>
      {history.error && <p role="alert">Could not read the history: {history.error.message}</p>}
      {history.data && history.data.length === 0 && <p>No activity yet.</p>}
      {history.data && history.data.length > 0 && (
        <table className="history" data-testid="history">
          <thead>
            <tr>
              <th scope="col">Block</th>
              <th scope="col">What</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {history.data.map((r) => (
              <tr key={r.key}>
                <td>{String(r.block)}</td>
                <td>{r.what}</td>
                <td>{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
