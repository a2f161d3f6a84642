import { useEffect, useState } from "react";
import { useConfig } from "wagmi";
import { getPublicClient } from "wagmi/actions";
import { insuranceFundAbi, mockErc20Abi } from "../generated/abis.ts";
import { duration, fmt, parseAmount } from "../lib/format.ts";
import { read, useChainQuery, useSystem, useToken, useTx } from "../lib/system.ts";
import { TxStatus } from "./TxStatus.tsx";

interface RedeemRequest {
  shares: bigint;
  assetsAtRequest: bigint;
  unlockAt: bigint;
  expiresAt: bigint;
}

/** The insurance fund: stake, request a redemption, wait out the cooldown, complete it; its share price. */
export function Insurance() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const token = useToken();
  const tx = useTx();
  const [stakeText, setStakeText] = useState("100");
  const [redeemText, setRedeemText] = useState("");
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000));
  useEffect(() => {
    const timer = setInterval(() => setNow(Math.floor(Date.now() / 1000)), 1000);
    return () => clearInterval(timer);
  }, []);
  const fund = deployment?.contracts.InsuranceFund;
  const data = useChainQuery(
    ["insurance", chainId, account, fund],
    async () => {
      const f = <T,>(functionName: string, args: readonly unknown[] = []) =>
        read<T>(config, chainId, { address: fund!, abi: insuranceFundAbi, functionName, args });
      const decimals = Number(await f<number>("decimals"));
      // The chain's clock may run ahead of this one (a local node whose time was moved on).
      const block = await getPublicClient(config, { chainId })!.getBlock();
      const clockOffset = Math.max(0, Number(block.timestamp) - Math.floor(Date.now() / 1000));
      const [totalAssets, totalSupply, sharePrice, shares, request, cooldown, allowance] = await Promise.all([
        f<bigint>("totalAssets"),
        f<bigint>("totalSupply"),
        f<bigint>("convertToAssets", [10n ** BigInt(decimals)]),
        f<bigint>("balanceOf", [account!]),
        f<RedeemRequest>("redeemRequest", [account!]),
        f<bigint>("cooldown"),
        read<bigint>(config, chainId, {
          address: token!.address,
          abi: mockErc20Abi,
          functionName: "allowance",
          args: [account!, fund!],
        }),
      ]);
      return { decimals, totalAssets, totalSupply, sharePrice, shares, request, cooldown, allowance, clockOffset };
    },
    fund !== undefined && account !== undefined && token !== undefined,
  );
  if (account === undefined) return <p>Connect a wallet to stake in the insurance fund.</p>;
  if (!token || !data.data) return <p>Loading the insurance fund…</p>;
  const d = data.data;
  const td = token.decimals;
  const stake = parseAmount(stakeText, td);
  const redeem = parseAmount(redeemText, d.decimals);
  const r = d.request;
  const open = r.shares !== 0n;
  const chainNow = now + d.clockOffset;
  const unlockIn = Number(r.unlockAt) - chainNow;
  const expiresIn = Number(r.expiresAt) - chainNow;
  const fundCall = (functionName: string, args: readonly unknown[]) => ({
    address: fund!,
    abi: insuranceFundAbi,
    functionName,
    args,
  });

  const doStake = async (): Promise<void> => {
    if (!stake) return;
    if (d.allowance < stake) {
      const approved = await tx.send("Approve the fund", {
        address: token.address,
        abi: mockErc20Abi,
        functionName: "approve",
        args: [fund, stake],
      });
      if (!approved) return;
    }
    await tx.send("Stake", fundCall("deposit", [stake, account]));
  };

  return (
    <section aria-labelledby="insurance-title">
      <h2 id="insurance-title">Insurance fund</h2>
      <dl className="kv">
        <dt>Fund assets</dt>
        <dd>
          {fmt(d.totalAssets, td, 2)} {token.symbol}
        </dd>
        <dt>Share price</dt>
        <dd data-testid="share-price">
          {fmt(d.sharePrice, td, 6)} {token.symbol}
        </dd>
        <dt>Your shares</dt>
        <dd data-testid="fund-shares" data-raw={String(d.shares)}>
          {fmt(d.shares, d.decimals, 6)}
        </dd>
        <dt>Worth</dt>
        <dd>
          {d.totalSupply === 0n ? "0" : fmt((d.shares * d.totalAssets) / d.totalSupply, td, 2)} {token.symbol}
        </dd>
        <dt>Cooldown</dt>
        <dd>{duration(Number(d.cooldown))}</dd>
      </dl>
      <div className="actions">
        <div className="row">
          <label htmlFor="stake-amount">Stake ({token.symbol})</label>
          <input
            id="stake-amount"
            inputMode="decimal"
            value={stakeText}
            onChange={(e) => setStakeText(e.target.value)}
          />
          <button type="button" disabled={tx.busy || !stake} onClick={doStake}>
            Stake
          </button>
        </div>
        <div className="row">
          <label htmlFor="redeem-shares">Request redemption (shares)</label>
          <input
            id="redeem-shares"
            inputMode="decimal"
            value={redeemText}
            onChange={(e) => setRedeemText(e.target.value)}
          />
          <button
            type="button"
            className="secondary"
            onClick={() => setRedeemText(fmt(d.shares, d.decimals, d.decimals).replace(/,/g, ""))}
          >
            Max
          </button>
          <button
            type="button"
            disabled={tx.busy || !redeem}
            onClick={async () =>
              (await tx.send("Request redemption", fundCall("requestRedeem", [redeem]))) && setRedeemText("")
            }
          >
            Request redemption
          </button>
        </div>
      </div>
      <div className="request" data-testid="redeem-request">
        <h3>Redemption request</h3>
        {!open && <p>No open request.</p>}
        {open && (
          <>
            <p>
              {fmt(r.shares, d.decimals, 6)} shares, paying at most {fmt(r.assetsAtRequest, td, 2)} {token.symbol}.{" "}
              <span data-testid="cooldown">
                {unlockIn > 0
                  ? `Unlocks in ${duration(unlockIn)}`
                  : expiresIn > 0
                    ? `Unlocked: complete within ${duration(expiresIn)}`
                    : "Lapsed: request again"}
              </span>
            </p>
            <div className="row">
              <button
                type="button"
                disabled={tx.busy}
                onClick={() => tx.send("Complete redemption", fundCall("completeRedeem", [account]))}
              >
                Complete redemption
              </button>
              <button
                type="button"
                className="secondary"
                disabled={tx.busy}
                onClick={() => tx.send("Cancel redemption", fundCall("cancelRedeem", []))}
              >
                Cancel request
              </button>
            </div>
          </>
        )}
      </div>
      <TxStatus state={tx.state} />
    </section>
  );
}
