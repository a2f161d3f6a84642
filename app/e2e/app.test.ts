/**
 * The web app in a real browser (Debian's Chromium) against a real node and a real Ignition
 * deployment: connect, deposit, open a long whose preview the contract matches, see the position,
 * add margin, partial close, close, withdraw, stake and request a redemption; bad inputs show the
 * CLI's sentence and send nothing; a failed transaction leaves the page consistent. Screenshots of
 * each page go to reports/app/. Any console error or warning fails the run.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import type { Locator } from "playwright-core";
import { getAddress, type Address } from "viem";
import { ammAbi, clearingHouseAbi, insuranceFundAbi, mockErc20Abi, vaultAbi } from "../src/generated/abis.ts";
import { SCREENSHOTS, startWorld, type World } from "./harness.ts";

const WAD = 10n ** 18n;
let w: World;
let contracts: Record<string, Address>;
let ethAmm: Address;

before(async () => {
  w = await startWorld();
  const response = await fetch(new URL("/deployments.json", w.url));
  const { chains } = (await response.json()) as {
    chains: { contracts: Record<string, Address>; markets: { symbol: string; amm: Address }[] }[];
  };
  contracts = chains[0].contracts;
  ethAmm = chains[0].markets.find((m) => m.symbol === "ETH")!.amm;
});

after(async () => {
  await w?.stop();
});

const tab = (name: string) => w.page.getByRole("tab", { name, exact: true }).click();
const raw = async (testId: string): Promise<bigint> =>
  BigInt((await w.page.getByTestId(testId).first().getAttribute("data-raw"))!);
const shot = (name: string) => w.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const nonce = () => w.client.getTransactionCount({ address: w.trader });

/** The number of sends of the panel shown so far (0 before any). */
async function seq(): Promise<number> {
  const status = w.page.getByTestId("tx-status");
  return (await status.count()) === 0 ? 0 : Number(await status.getAttribute("data-seq"));
}

/**
 * Clicks a button that sends a transaction (or several: `label` names the last); waits for that
 * send's outcome and returns its line.
 */
async function send(button: Locator, label?: string): Promise<string> {
  const before = await seq();
  await button.click();
  await w.page.waitForFunction(
    ([n, name]) => {
      const el = document.querySelector('[data-testid="tx-status"]');
      return (
        el !== null &&
        Number(el.getAttribute("data-seq")) > n &&
        el.getAttribute("data-phase") !== "pending" &&
        (name === "" || el.querySelector("strong")?.textContent === name)
      );
    },
    [before, label ?? ""] as const,
    { timeout: 30_000 },
  );
  return (await w.page.getByTestId("tx-status").textContent()) ?? "";
}

async function expectConfirmed(button: Locator, label?: string): Promise<void> {
  const text = await send(button, label);
  assert.match(text, /confirmed in block \d+/, text);
}

async function position(): Promise<{ size: bigint; margin: bigint; openNotional: bigint }> {
  return (await w.client.readContract({
    address: contracts.ClearingHouse,
    abi: clearingHouseAbi,
    functionName: "getPosition",
    args: [ethAmm, w.trader],
  })) as { size: bigint; margin: bigint; openNotional: bigint };
}

function walletBalance(): Promise<bigint> {
  return w.client.readContract({
    address: contracts.USDC,
    abi: mockErc20Abi,
    functionName: "balanceOf",
    args: [w.trader],
  }) as Promise<bigint>;
}

function freeCollateral(): Promise<bigint> {
  return w.client.readContract({
    address: contracts.Vault,
    abi: vaultAbi,
    functionName: "freeCollateral",
    args: [w.trader],
  }) as Promise<bigint>;
}

/** Waits until the page shows what the chain says (a remounted panel first shows its cached figures). */
async function waitForRaw(testId: string, value: bigint): Promise<void> {
  await w.page.waitForFunction(
    ([id, v]) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute("data-raw") === v,
    [testId, String(value)] as const,
  );
}

async function fillPreview(margin: string, leverage: string): Promise<void> {
  await w.page.getByLabel("Margin (USDC)").fill(margin);
  await w.page.getByLabel("Leverage (x)").fill(leverage);
}

test("markets page and connecting the dev account", async () => {
  const t0 = Date.now();
  await w.page.goto(w.url);
  console.log(`loaded in ${Date.now() - t0} ms`);
  await w.page.getByTestId("market-ETH").waitFor();
  console.log(`markets shown after ${Date.now() - t0} ms`);
  assert.match((await w.page.getByTestId("market-ETH").getByTestId("mark").textContent())!, /^3,000(\.\d+)?$/);
  // The dynamic curve: the local deployment seeds the ETH budget with its target, 2,700 (local.json),
  // and the bid and ask sit around the mark by the base half-spread, 0.025%: 2,999.25 / 3,000.75.
  const eth = w.page.getByTestId("market-ETH");
  assert.equal(await eth.getByTestId("budget").getAttribute("data-raw"), String(2_700n * WAD));
  // (The bid is shown rounded down; the spread's terms round up, so it may read a cent lower.)
  assert.match((await eth.getByTestId("bid-ask").textContent())!, /^2,999\.2[45] \/ 3,000\.75$/);
  await w.page.getByRole("button", { name: "Dev account (local node)" }).click();
  await w.page.getByTestId("account").waitFor();
  console.log(`connected after ${Date.now() - t0} ms`);
  assert.equal(await w.page.getByTestId("account").getAttribute("title"), w.trader);
  await shot("markets");
});

test("the pages are reachable by keyboard", async () => {
  await w.page.getByRole("tab", { name: "Markets", exact: true }).focus();
  await w.page.keyboard.press("ArrowRight");
  assert.equal(await w.page.getByRole("tab", { name: "Trade", exact: true }).getAttribute("aria-selected"), "true");
  assert.equal(await w.page.evaluate(() => document.activeElement?.id), "tab-Trade");
  await w.page.keyboard.press("Tab");
  assert.equal(await w.page.evaluate(() => document.activeElement?.id), "trade-market");
  await w.page.getByRole("tab", { name: "Trade", exact: true }).focus();
  await w.page.keyboard.press("End");
  assert.equal(await w.page.getByRole("tab", { name: "Chart", exact: true }).getAttribute("aria-selected"), "true");
  await w.page.keyboard.press("Home");
  assert.equal(await w.page.getByRole("tab", { name: "Markets", exact: true }).getAttribute("aria-selected"), "true");
});

test("approve and deposit", async () => {
  await tab("Account");
  await w.page.getByLabel("Approve (USDC)").fill("50000");
  await expectConfirmed(w.page.getByRole("button", { name: "Approve", exact: true }));
  await w.page.getByLabel("Deposit (USDC)").fill("50000");
  await expectConfirmed(w.page.getByRole("button", { name: "Deposit", exact: true }));
  await w.page.waitForFunction(() =>
    document.querySelector('[data-testid="free-collateral"]')?.textContent?.startsWith("50,000"),
  );
  assert.equal(await raw("free-collateral"), 50_000n * WAD);
});

test("a bad input shows the CLI's sentence and sends nothing", async () => {
  await tab("Trade");
  await w.page.getByLabel("Market").selectOption({ label: "ETH-PERP" });
  const before = await nonce();
  await fillPreview("100", "50");
  const error = w.page.getByTestId("preview-error");
  await error.waitFor();
  assert.match((await error.textContent())!, /^leverage 50x is too high: this market allows at most 10x$/);
  assert.equal(await w.page.getByRole("button", { name: /^Review/ }).isDisabled(), true);
  await fillPreview("60000", "2");
  await w.page.waitForFunction(() =>
    document.querySelector('[data-testid="preview-error"]')?.textContent?.startsWith("insufficient collateral"),
  );
  // Needed: the margin 60,000, the fee 0.1% x 120,000 and the spread the Amm charges such a long
  // (its own preview: the base the long buys, then the spread fee of that base change).
  const notional = 120_000n * WAD;
  const amm = { address: ethAmm, abi: ammAbi } as const;
  const base = (await w.client.readContract({
    ...amm,
    functionName: "previewSwapQuote",
    args: [0, notional],
  })) as bigint;
  const spread = (await w.client.readContract({
    ...amm,
    functionName: "previewSpreadFee",
    args: [base, notional],
  })) as bigint;
  assert.ok(spread > 0n, "a spread is charged");
  const needed = 60_000n * WAD + 120n * WAD + spread;
  const text = (await error.textContent())!;
  const shown =
    /^insufficient collateral: 0x[0-9a-fA-F]{40} has 50,000 free in the Vault but ([\d,.]+) is needed \(deposit more\)$/.exec(
      text,
    );
  assert.ok(shown, text);
  // Shown with at most five decimals, rounded down.
  const [whole, fraction = ""] = shown[1].replaceAll(",", "").split(".");
  const shownWad = BigInt(whole) * WAD + BigInt(fraction.padEnd(18, "0"));
  assert.ok(shownWad <= needed && needed - shownWad < 10n ** 13n, `${shown[1]} vs ${needed}`);
  assert.equal(await w.page.getByRole("button", { name: /^Review/ }).isDisabled(), true);
  await shot("trade-error");
  assert.equal(await nonce(), before, "a bad input sent a transaction");
});

test("a failed transaction leaves the page consistent", async () => {
  // 40,000 x 10 = 400,000 quote: the preview allows it (it does not check the per-trade limit), the
  // transaction's simulation refuses it with the CLI's sentence, and nothing is sent.
  const before = await nonce();
  await fillPreview("40000", "10");
  await w.page.getByTestId("preview-size").waitFor();
  await w.page.getByRole("button", { name: "Review long" }).click();
  const text = await send(w.page.getByRole("button", { name: "Confirm long" }));
  assert.match(text, /^Open long ETH: failed: the trade (of [\d,.]+ quote is above this market's limit|would)/, text);
  assert.equal(await nonce(), before);
  assert.equal((await position()).size, 0n);
  await tab("Positions");
  await w.page.getByTestId("no-positions").waitFor();
  await tab("Account");
  assert.equal(await raw("free-collateral"), 50_000n * WAD);
});

test("open a long whose preview the contract matches, and see the position", async () => {
  await tab("Trade");
  await w.page.getByLabel("Market").selectOption({ label: "ETH-PERP" });
  await fillPreview("100", "2");
  await w.page.waitForFunction(
    () =>
      document.querySelector('[data-testid="preview-margin"]')?.getAttribute("data-raw") === String(100n * 10n ** 18n),
  );
  const preview = {
    size: await raw("preview-position-size"),
    margin: await raw("preview-margin"),
    openNotional: await raw("preview-notional"),
    entry: await raw("preview-entry"),
    freeDelta: await raw("preview-free-delta"),
  };
  const freeBefore = await freeCollateral();
  assert.ok(preview.size > 0n);
  await shot("trade");
  await w.page.getByRole("button", { name: "Review long" }).click();
  await shot("trade-confirm");
  await expectConfirmed(w.page.getByRole("button", { name: "Confirm long" }));
  const after = await position();
  assert.equal(after.size, preview.size, "size");
  assert.equal(after.margin, preview.margin, "margin");
  assert.equal(after.openNotional, preview.openNotional, "open notional");
  assert.equal((after.openNotional * WAD) / after.size, preview.entry, "entry price");
  assert.equal(await freeCollateral(), freeBefore + preview.freeDelta, "free collateral");
  await tab("Positions");
  await w.page.getByTestId("position-ETH").waitFor();
  assert.equal(await raw("pos-size"), preview.size);
  await shot("positions");
});

test("add margin, partial close, close", async () => {
  const start = await position();
  await w.page.getByLabel("Add margin (USDC)").fill("10");
  await expectConfirmed(w.page.getByRole("button", { name: "Add margin", exact: true }));
  assert.equal((await position()).margin, start.margin + 10n * WAD);
  await w.page.waitForFunction(
    (m) => document.querySelector('[data-testid="pos-margin"]')?.getAttribute("data-raw") === m,
    String(start.margin + 10n * WAD),
  );

  // Removing more than the contract's maximum is refused before anything is sent.
  const before = await nonce();
  await w.page.getByLabel(/^Remove margin/).fill("100000");
  await w.page.getByText(/can be removed now/).waitFor();
  assert.equal(await w.page.getByRole("button", { name: "Remove margin", exact: true }).isDisabled(), true);
  assert.equal(await nonce(), before);
  await w.page.getByLabel(/^Remove margin/).fill("5");
  await expectConfirmed(w.page.getByRole("button", { name: "Remove margin", exact: true }));
  assert.equal((await position()).margin, start.margin + 5n * WAD);

  await w.page.getByLabel("Partial close (ETH)").fill("0.02");
  await expectConfirmed(w.page.getByRole("button", { name: "Partial close", exact: true }));
  assert.equal((await position()).size, start.size - 2n * 10n ** 16n);
  await w.page.waitForFunction(
    (s) => document.querySelector('[data-testid="pos-size"]')?.getAttribute("data-raw") === s,
    String(start.size - 2n * 10n ** 16n),
  );

  await expectConfirmed(w.page.getByRole("button", { name: "Close position" }));
  assert.equal((await position()).size, 0n);
  // A gain the market's pool cannot pay yet stays as a claim: the card then shows it, size 0.
  const claim = (await w.client.readContract({
    address: contracts.Vault,
    abi: vaultAbi,
    functionName: "claimOf",
    args: [ethAmm, w.trader],
  })) as bigint;
  if (claim === 0n) await w.page.getByTestId("no-positions").waitFor();
  else {
    await waitForRaw("pos-size", 0n);
    await waitForRaw("pos-claim", claim);
  }
  await shot("positions-closed");
});

test("withdraw everything", async () => {
  await tab("Account");
  await w.page.getByTestId("history").waitFor();
  const free = (await w.client.readContract({
    address: contracts.Vault,
    abi: vaultAbi,
    functionName: "freeCollateral",
    args: [w.trader],
  })) as bigint;
  // Two fees of 0.1% on about 200 of notional went to the insurance fund.
  assert.ok(free > 49_999n * WAD && free < 50_000n * WAD, `free collateral ${free}`);
  await waitForRaw("free-collateral", free);
  await w.page.getByRole("button", { name: "Max" }).click();
  await expectConfirmed(w.page.getByRole("button", { name: "Withdraw", exact: true }));
  const left = (await w.client.readContract({
    address: contracts.Vault,
    abi: vaultAbi,
    functionName: "freeCollateral",
    args: [w.trader],
  })) as bigint;
  assert.ok(left < 10n ** 12n, `left ${left}`);
  await shot("account");
});

test("stake, request a redemption; completing early fails with the sentence, after the cooldown it pays", async () => {
  await tab("Insurance");
  await w.page.getByLabel("Stake (USDC)").fill("100");
  // Approves the fund first, then stakes.
  await expectConfirmed(w.page.getByRole("button", { name: "Stake", exact: true }), "Stake");
  await w.page.waitForFunction(
    () => document.querySelector('[data-testid="fund-shares"]')?.getAttribute("data-raw") !== "0",
  );
  const shares = await raw("fund-shares");
  assert.ok(shares > 0n);
  await w.page.getByRole("button", { name: "Max" }).click();
  await expectConfirmed(w.page.getByRole("button", { name: "Request redemption" }));
  await w.page.getByTestId("cooldown").waitFor();
  assert.match((await w.page.getByTestId("cooldown").textContent())!, /^Unlocks in \d/);
  const request = (await w.client.readContract({
    address: contracts.InsuranceFund,
    abi: insuranceFundAbi,
    functionName: "redeemRequest",
    args: [w.trader],
  })) as { shares: bigint };
  assert.equal(request.shares, shares);

  const before = await nonce();
  const text = await send(w.page.getByRole("button", { name: "Complete redemption" }));
  assert.match(text, /failed: the cooldown ends at \d{4}-\d\d-\d\dT/, text);
  assert.equal(await nonce(), before);
  assert.match((await w.page.getByTestId("cooldown").textContent())!, /^Unlocks in \d/);
  await shot("insurance");

  // After the cooldown (the node's clock moved on), the request completes.
  const cooldown = (await w.client.readContract({
    address: contracts.InsuranceFund,
    abi: insuranceFundAbi,
    functionName: "cooldown",
  })) as bigint;
  await w.client.request({ method: "evm_increaseTime", params: [Number(cooldown) + 1] } as never);
  await w.client.request({ method: "evm_mine", params: [] } as never);
  await w.page.waitForFunction(() =>
    document.querySelector('[data-testid="cooldown"]')?.textContent?.startsWith("Unlocked"),
  );
  const walletBefore = await walletBalance();
  await expectConfirmed(w.page.getByRole("button", { name: "Complete redemption" }));
  await w.page.getByText("No open request.").waitFor();
  const paid = (await walletBalance()) - walletBefore;
  // 100 USDC staked; the fund's share price is 1 (nothing earned or lost meanwhile), less rounding.
  assert.ok(paid > 99_999_000n && paid <= 100_000_000n, `paid ${paid}`);
});

test("chart and phone width", async () => {
  await tab("Chart");
  await w.page.getByLabel("Market").selectOption({ label: "ETH-PERP" });
  await w.page.getByTestId("chart").locator("canvas").first().waitFor();
  await shot("chart");
  await w.page.setViewportSize({ width: 390, height: 844 });
  await tab("Trade");
  await w.page.getByTestId("preview").waitFor();
  const overflow = await w.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await shot("trade-phone");
});

test("an injected wallet on another network is told so and switched", async () => {
  const accounts = (await w.client.request({ method: "eth_accounts" } as never)) as Address[];
  const context = await w.browser.newContext({ viewport: { width: 1280, height: 900 } });
  // A stand-in for MetaMask: an EIP-1193 provider on Ethereum mainnet (chain 1) that forwards
  // everything else to the node and switches chains when asked.
  await context.addInitScript(
    ({ rpcUrl, account }) => {
      let chainId = "0x1";
      const listeners: Record<string, ((value: unknown) => void)[]> = {};
      (window as unknown as { ethereum: unknown }).ethereum = {
        async request({ method, params }: { method: string; params?: { chainId: string }[] }) {
          if (method === "eth_chainId") return chainId;
          if (method === "eth_accounts" || method === "eth_requestAccounts") return [account];
          if (method === "wallet_requestPermissions" || method === "wallet_getPermissions")
            return [{ parentCapability: "eth_accounts" }];
          if (method === "wallet_switchEthereumChain") {
            chainId = params![0].chainId;
            for (const listener of listeners.chainChanged ?? []) listener(chainId);
            return null;
          }
          const response = await fetch(rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
          });
          const body = (await response.json()) as { result?: unknown; error?: { message: string } };
          if (body.error) throw Object.assign(new Error(body.error.message), body.error);
          return body.result;
        },
        on(event: string, listener: (value: unknown) => void) {
          (listeners[event] ??= []).push(listener);
        },
        removeListener(event: string, listener: (value: unknown) => void) {
          listeners[event] = (listeners[event] ?? []).filter((l) => l !== listener);
        },
      };
    },
    { rpcUrl: w.chain.rpcUrl, account: accounts[2] },
  );
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") w.problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => w.problems.push(`page error: ${error.message}`));
  try {
    await page.goto(w.url);
    await page.getByRole("button", { name: /^Connect Injected/ }).click();
    const alert = page.getByText(/^Wrong network: the protocol is not deployed on chain 1\./);
    await alert.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "wrong-network.png"), fullPage: true });
    await page.getByRole("button", { name: "Switch to chain 31337" }).click();
    await alert.waitFor({ state: "detached" });
    await page.getByTestId("market-ETH").waitFor();
    assert.equal(await page.getByTestId("account").getAttribute("title"), getAddress(accounts[2]));
  } finally {
    await context.close();
  }
});

test("no console errors or warnings", () => {
  assert.deepEqual(w.problems, []);
});
