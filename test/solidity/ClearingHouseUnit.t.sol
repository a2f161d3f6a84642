// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {IVaultErrors} from "../../contracts/interfaces/IVault.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Amm} from "../../contracts/Amm.sol";
import {ClearingHouse} from "../../contracts/ClearingHouse.sol";
import {Vault} from "../../contracts/Vault.sol";
import {Side} from "../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../contracts/interfaces/IVault.sol";
import {Deployer} from "./utils/Deployer.sol";
import {deployClearingHouse} from "./utils/DeployClearingHouse.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Unit tests of deployment and linking, pause, deadline, the leverage bound, the
/// mark-valued margin check on increases, and reversals whose rest is dust.
contract ClearingHouseUnitTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    uint256 internal constant NO_DEADLINE = type(uint256).max;

    function setUp() public {
        // Price 8 quote per base, fee 0.1%, 10% IMR (max 10x).
        deploySystem(100_000e18, 12_500e18, 0.001e18, noLimits());
        fund(ALICE, 1_000_000e6);
        fund(BOB, 1_000_000e6);
    }

    function _open(address t, Side side, uint256 margin, uint256 leverage) internal {
        vm.prank(t);
        clearingHouse.openPosition(address(amm), side, margin, leverage, 0, NO_DEADLINE);
    }

    function _position(address t) internal view returns (IClearingHouse.Position memory) {
        return clearingHouse.getPosition(address(amm), t);
    }

    // ------------------------------------------------------------------ deployment and linking

    /// @dev Deployer: ClearingHouse(owner) -> Vault(token, clearingHouse) -> clearingHouse.setVault.
    function test_deploymentLinksBothWays() public view {
        assertEq(vault.clearingHouse(), address(clearingHouse), "vault names the clearing house");
        assertEq(address(clearingHouse.vault()), address(vault), "clearing house names the vault");
        assertEq(clearingHouse.owner(), address(this), "owner");
        assertEq(clearingHouse.paused(), false, "live after deployment");
        assertEq(clearingHouse.isMarketListed(address(amm)), true, "market listed");
    }

    function test_setVaultOnlyOnce() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.VaultAlreadySet.selector, address(vault)));
        clearingHouse.setVault(IVault(address(vault)));
        // Even a second Vault naming this clearing house cannot replace the first.
        Vault other = new Vault(usdc, address(clearingHouse));
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.VaultAlreadySet.selector, address(vault)));
        clearingHouse.setVault(IVault(address(other)));
    }

    /// @dev A fresh ClearingHouse: no market before the Vault is linked; setVault checks its argument,
    /// is owner only, emits VaultSet; then markets can be listed.
    function test_vaultMustBeLinkedBeforeMarkets() public {
        ClearingHouse ch = deployClearingHouse(address(this), AggregatorV3Interface(address(0)));
        assertEq(address(ch.vault()), address(0), "no vault yet");
        Amm amm2 = new Amm(address(ch), 100_000e18, 12_500e18, noLimits(), address(this), amm.curveModule());
        IClearingHouse.MarketParams memory params = IClearingHouse.MarketParams(IMR, MMR, 0.001e18);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.VaultNotSet.selector));
        ch.addMarket(address(amm2), params);

        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.ZeroAddress.selector));
        ch.setVault(IVault(address(0)));
        // `vault` answers to the other clearing house.
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.VaultNotBoundToThisClearingHouse.selector,
                address(vault),
                address(clearingHouse)
            )
        );
        ch.setVault(IVault(address(vault)));

        Vault v = new Vault(usdc, address(ch));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        ch.setVault(IVault(address(v)));

        vm.recordLogs();
        ch.setVault(IVault(address(v)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].emitter, address(ch), "emitter");
        assertTrue(logs[0].topics[0] == IClearingHouse.VaultSet.selector, "VaultSet");
        assertEq(abi.decode(logs[0].data, (address)), address(v), "VaultSet(vault)");
        assertEq(address(ch.vault()), address(v), "linked");

        ch.addMarket(address(amm2), params);
        assertEq(ch.isMarketListed(address(amm2)), true, "listed once the vault is linked");
    }

    /// @dev The Vault's clearing house is an immutable constructor argument: not zero, no owner,
    /// no setter; only it may settle.
    function test_vaultClearingHouseIsImmutable() public {
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.ZeroAddress.selector));
        new Vault(usdc, address(0));

        (bool ok, ) = address(vault).call(abi.encodeWithSignature("setClearingHouse(address)", ALICE));
        assertEq(ok, false, "no setClearingHouse");
        (ok, ) = address(vault).call(abi.encodeWithSignature("owner()"));
        assertEq(ok, false, "no owner");

        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.OnlyClearingHouse.selector, ALICE));
        vault.settle(ALICE, address(amm), 1, 0, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.OnlyClearingHouse.selector, address(this)));
        vault.settle(ALICE, address(amm), 1, 0, 0, 0);
    }

    // ------------------------------------------------------------------ pause

    function test_pauseBlocksOpenCloseAndMargin() public {
        _open(ALICE, Side.LONG, 1_000e18, 2e18);
        clearingHouse.pause();
        assertEq(clearingHouse.paused(), true, "paused");
        bytes memory paused = abi.encodeWithSelector(IClearingHouse.EnforcedPause.selector);

        vm.prank(BOB);
        vm.expectRevert(paused);
        clearingHouse.openPosition(address(amm), Side.LONG, 100e18, 2e18, 0, NO_DEADLINE);

        vm.prank(ALICE);
        vm.expectRevert(paused);
        clearingHouse.openPosition(address(amm), Side.SHORT, 100e18, 2e18, 0, NO_DEADLINE);

        vm.prank(ALICE);
        vm.expectRevert(paused);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);

        vm.prank(ALICE);
        vm.expectRevert(paused);
        clearingHouse.addMargin(address(amm), 1e18);

        vm.prank(ALICE);
        vm.expectRevert(paused);
        clearingHouse.removeMargin(address(amm), 1e18);

        // Unpaused, every action works again.
        clearingHouse.unpause();
        assertEq(clearingHouse.paused(), false, "unpaused");
        vm.prank(ALICE);
        clearingHouse.addMargin(address(amm), 1e18);
        vm.prank(ALICE);
        clearingHouse.removeMargin(address(amm), 1e18);
        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        assertEq(clearingHouse.getPosition(address(amm), ALICE).size, int256(0), "closed after unpause");
        _open(BOB, Side.SHORT, 100e18, 2e18);
    }

    function test_onlyOwnerPauses() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        clearingHouse.pause();
        clearingHouse.pause();
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        clearingHouse.unpause();
    }

    /// @dev The pause flag is the ClearingHouse's own: pausing twice reverts EnforcedPause, unpausing
    /// when live reverts ExpectedPause, and each change emits Paused / Unpaused with the caller.
    function test_pauseStateMachineAndEvents() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ExpectedPause.selector));
        clearingHouse.unpause();

        vm.recordLogs();
        clearingHouse.pause();
        _expectOneEvent(IClearingHouse.Paused.selector);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.EnforcedPause.selector));
        clearingHouse.pause();

        clearingHouse.unpause();
        _expectOneEvent(IClearingHouse.Unpaused.selector);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ExpectedPause.selector));
        clearingHouse.unpause();
    }

    function _expectOneEvent(bytes32 topic) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].emitter, address(clearingHouse), "emitter");
        assertTrue(logs[0].topics[0] == topic, "event");
        assertEq(abi.decode(logs[0].data, (address)), address(this), "account");
    }

    /// @dev Deposits and withdrawals live in the Vault and are not paused by the ClearingHouse: while
    /// paused, ALICE (1,000,000 USDC deposited in setUp) withdraws 1 USDC and deposits 2, and both the
    /// token balances and the Vault's ledger move by exactly those amounts.
    function test_pauseLeavesVaultOpen() public {
        clearingHouse.pause();
        assertTrue(clearingHouse.paused(), "paused");
        assertEq(vault.freeCollateral(ALICE), 1_000_000e18, "free collateral before");
        assertEq(usdc.balanceOf(ALICE), 0, "wallet before");
        uint256 vaultTokens = usdc.balanceOf(address(vault));

        vm.prank(ALICE);
        vault.withdraw(1e6);
        assertEq(usdc.balanceOf(ALICE), 1e6, "withdrawn to the wallet");
        assertEq(usdc.balanceOf(address(vault)), vaultTokens - 1e6, "vault paid 1 USDC");
        assertEq(vault.freeCollateral(ALICE), 999_999e18, "ledger after the withdrawal");

        fund(ALICE, 2e6);
        assertEq(usdc.balanceOf(ALICE), 1e6, "the deposit took the 2 USDC minted");
        assertEq(usdc.balanceOf(address(vault)), vaultTokens + 1e6, "vault holds 1 USDC more than at the start");
        assertEq(vault.freeCollateral(ALICE), 1_000_001e18, "ledger after the deposit");
        assertTrue(clearingHouse.paused(), "still paused");
    }

    // ------------------------------------------------------------------ deadline

    function test_deadlineExpiredReverts() public {
        vm.warp(1_000_000);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.DeadlineExpired.selector, 999_999, 1_000_000));
        clearingHouse.openPosition(address(amm), Side.LONG, 100e18, 2e18, 0, 999_999);

        // A deadline equal to the block timestamp is still in time.
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 100e18, 2e18, 0, 1_000_000);

        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.DeadlineExpired.selector, 999_999, 1_000_000));
        clearingHouse.closePosition(address(amm), 0, 999_999);

        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, 1_000_000);
    }

    function testFuzz_deadline(uint256 timestamp, uint256 deadline) public {
        // Timestamps are stored in 40 bits (past the year 36,000).
        timestamp = bound(timestamp, 1, type(uint40).max);
        deadline = bound(deadline, 0, type(uint64).max);
        vm.warp(timestamp);
        vm.prank(ALICE);
        if (deadline < timestamp) {
            vm.expectRevert(abi.encodeWithSelector(IClearingHouse.DeadlineExpired.selector, deadline, timestamp));
        }
        clearingHouse.openPosition(address(amm), Side.SHORT, 100e18, 3e18, 0, deadline);
    }

    // ------------------------------------------------------------------ leverage bound

    function test_leverageExactlyMaxSucceeds() public {
        _open(ALICE, Side.LONG, 1_000e18, 10e18);
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), ALICE);
        assertEq(p.openNotional, 10_000e18, "notional = margin x 10");
        assertEq(p.margin, 1_000e18, "margin");
    }

    function test_leverageAboveMaxReverts() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.LeverageTooHigh.selector, 10e18 + 1, 10e18));
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000e18, 10e18 + 1, 0, NO_DEADLINE);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.LeverageTooHigh.selector, 10e18 + 1, 10e18));
        clearingHouse.openPosition(address(amm), Side.SHORT, 1_000e18, 10e18 + 1, 0, NO_DEADLINE);
    }

    /// @dev Any IMR: leverage floor(1e36 / IMR) opens, one wei more reverts.
    function testFuzz_leverageBound(uint256 imrSeed, bool isLong) public {
        uint64 imr = uint64(bound(imrSeed, 0.01e18, 1e18));
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(imr, imr / 2, 0.001e18));
        uint256 maxLeverage = uint256(1e36) / imr;
        Side side = isLong ? Side.LONG : Side.SHORT;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.LeverageTooHigh.selector, maxLeverage + 1, maxLeverage));
        clearingHouse.openPosition(address(amm), side, 100e18, maxLeverage + 1, 0, NO_DEADLINE);
        _open(ALICE, side, 100e18, maxLeverage);
        assertEq(
            clearingHouse.getPosition(address(amm), ALICE).openNotional,
            (100e18 * maxLeverage) / 1e18,
            "notional"
        );
    }

    // ------------------------------------------------------------------ market pool and claims

    /// @notice A winner's close never waits for a loser (issue 13, finding 3). Bob goes long 10k at
    /// 1x; Alice goes long 10k at 10x (price up, Bob gains ~1.8k at his exit value); Bob's profit
    /// exceeds everything the market's pool holds beyond the two margins (nothing), so his close
    /// pays back his margin less the fee now and queues his profit as a claim. Alice's close later
    /// realises her loss into the pool, and `payClaims` (anyone may call it) pays Bob in full.
    function test_winnerClosesFirstAndIsPaidFromTheLosersRealisedLoss() public {
        _open(BOB, Side.LONG, 10_000e18, 1e18);
        _open(ALICE, Side.LONG, 1_000e18, 10e18);
        IClearingHouse.Position memory bob = _position(BOB);
        uint256 exit = amm.previewSwapBase(bob.size, uint256(bob.size));
        int256 bobPnl = int256(exit) - int256(bob.openNotional);
        assertGe(bobPnl, int256(1_000e18), "Bob's profit at exit exceeds Alice's margin");
        IVault.MarketBalances memory balances = vault.marketBalances(address(amm));
        assertEq(balances.pool, 11_000e18, "the pool holds the two margins");
        assertEq(balances.lockedMargin, 11_000e18, "both locked behind their positions");
        assertEq(vault.profitAvailable(address(amm)), 0, "no realised loss to pay a profit from");

        uint256 closeFee = (exit * 0.001e18 + 1e18 - 1) / 1e18;
        uint256 bobFree = vault.freeCollateral(BOB);
        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        assertEq(vault.freeCollateral(BOB), bobFree + bob.margin - closeFee, "Bob's own margin less the fee now");
        assertEq(vault.claimOf(address(amm), BOB), uint256(bobPnl), "his profit waits as a claim");
        balances = vault.marketBalances(address(amm));
        assertEq(balances.pool, 1_000e18, "Alice's margin stays behind her position");
        assertEq(balances.claims, uint256(bobPnl), "the market owes the claim");
        assertEq(vault.payClaims(address(amm), 10), 0, "nothing to pay it from yet");

        // Alice tops up and closes at a loss: the loss stays in the pool and pays Bob's claim.
        vm.prank(ALICE);
        clearingHouse.addMargin(address(amm), 2_000e18);
        IClearingHouse.Position memory alice = _position(ALICE);
        uint256 aliceExit = amm.previewSwapBase(alice.size, uint256(alice.size));
        int256 alicePnl = int256(aliceExit) - int256(alice.openNotional);
        uint256 aliceFee = (aliceExit * 0.001e18 + 1e18 - 1) / 1e18;
        uint256 aliceFree = vault.freeCollateral(ALICE);
        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        assertEq(
            vault.freeCollateral(ALICE),
            aliceFree + uint256(int256(alice.margin) + alicePnl) - aliceFee,
            "Alice paid margin + PnL - fee"
        );
        // On x*y=k the two closes return the pool to where it started, so the loss covers the
        // profit; the pool's rounding leaves it a few wei more.
        assertGe(-alicePnl, bobPnl, "her loss covers his profit");
        assertEq(vault.payClaims(address(amm), 10), uint256(bobPnl), "the claim paid in full");
        assertEq(vault.claimOf(address(amm), BOB), 0, "nothing owed");
        assertEq(vault.freeCollateral(BOB), bobFree + bob.margin + uint256(bobPnl) - closeFee, "Bob whole");
        balances = vault.marketBalances(address(amm));
        assertEq(balances.pool, uint256(-alicePnl - bobPnl), "only the rounding dust stays");
        assertLt(balances.pool, 1e6, "a few wei");
        assertEq(balances.lockedMargin, 0, "no position");
        assertEq(balances.claims, 0, "no claim");
    }

    // ------------------------------------------------------------------ increase: mark-valued IMR

    /// @dev The whole position after an increase of `margin` at `leverage` on `t`'s position, valued at
    /// floor/ceil(|size| x q' / b') at the reserves after the trade: margin + PnL and mark notional.
    function _afterIncrease(
        address t,
        uint256 margin,
        uint256 leverage
    ) internal view returns (int256 equity, uint256 mark) {
        IClearingHouse.Position memory p = _position(t);
        uint256 notional = (margin * leverage) / 1e18;
        bool isLong = p.size > 0;
        uint256 base = amm.previewSwapQuote(isLong ? Side.LONG : Side.SHORT, notional);
        (uint256 q, uint256 b) = amm.getReserves();
        if (isLong) {
            mark = Math.mulDiv(uint256(p.size) + base, q + notional, b - base);
            equity = int256(p.margin + margin) + int256(mark) - int256(p.openNotional + notional);
        } else {
            mark = Math.mulDiv(uint256(-p.size) + base, q - notional, b + base, Math.Rounding.Ceil);
            equity = int256(p.margin + margin) + int256(p.openNotional + notional) - int256(mark);
        }
    }

    /// @dev margin + PnL and mark notional of `t`'s position now, at the spot price.
    function _markEquity(address t) internal view returns (int256 equity, uint256 mark) {
        IClearingHouse.Position memory p = _position(t);
        (uint256 q, uint256 b) = amm.getReserves();
        if (p.size > 0) {
            mark = Math.mulDiv(uint256(p.size), q, b);
            equity = int256(p.margin) + int256(mark) - int256(p.openNotional);
        } else {
            mark = Math.mulDiv(uint256(-p.size), q, b, Math.Rounding.Ceil);
            equity = int256(p.margin) + int256(p.openNotional) - int256(mark);
        }
    }

    /// @notice Alice opens long 10k at 10x (IMR met at the spot price, which her own trade raised);
    /// Bob's short of 10k brings the spot price back down, below her entry: at the spot price her
    /// margin ratio is ~1%, below the 10% IMR, so an increase (100 at 1x) is refused with
    /// MarginRatioTooLow(her ratio at the spot price, IMR), and nothing moves. Mirrored for a short
    /// (Bob's long of 9k).
    function test_increaseRefusedWhenAnotherTradeMovedThePriceAgainst() public {
        uint256 free = vault.freeCollateral(ALICE);
        _open(ALICE, Side.LONG, 1_000e18, 10e18);
        assertGe(clearingHouse.getMarginRatio(address(amm), ALICE), int256(uint256(IMR)), "meets IMR at open");
        _open(BOB, Side.SHORT, 10_000e18, 1e18);
        _expectIncreaseRefused(Side.LONG);
        assertEq(vault.freeCollateral(ALICE), free - 1_000e18 - 10e18, "only the first trade was paid");

        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        _open(ALICE, Side.SHORT, 1_000e18, 10e18);
        assertGe(clearingHouse.getMarginRatio(address(amm), ALICE), int256(uint256(IMR)), "short meets IMR");
        _open(BOB, Side.LONG, 9_000e18, 1e18); // 10k would put Alice underwater
        _expectIncreaseRefused(Side.SHORT);
    }

    function _expectIncreaseRefused(Side side) internal {
        (int256 equity, uint256 mark) = _markEquity(ALICE);
        int256 ratio = clearingHouse.getMarginRatio(address(amm), ALICE);
        assertGe(equity, int256(0), "not underwater");
        assertEq(ratio, (equity * 1e18) / int256(mark), "getMarginRatio at the spot price (equity >= 0)");
        assertLt(ratio, int256(0.02e18), "price moved against Alice");
        IClearingHouse.Position memory before = _position(ALICE);
        (uint256 q, uint256 b) = amm.getReserves();

        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.MarginRatioTooLow.selector, ratio, IMR));
        clearingHouse.openPosition(address(amm), side, 100e18, 1e18, 0, NO_DEADLINE);
        IClearingHouse.Position memory p = _position(ALICE);
        assertEq(p.size, before.size, "size untouched");
        assertEq(p.margin, before.margin, "margin untouched");
        (uint256 q2, uint256 b2) = amm.getReserves();
        assertEq(q2 * 1e30 + b2, q * 1e30 + b, "reserves untouched");
    }

    /// @notice The increase is judged on the existing position at the spot price BEFORE the trade, so
    /// neither the new margin nor the trade's own price impact can carry a position that is below the
    /// IMR: an increase of 2k at 1x that would leave the whole position above 10% at the reserves
    /// after it is still refused. Topped up to the IMR first, the position may grow.
    function test_increaseJudgedOnThePositionBeforeTheTrade() public {
        _open(ALICE, Side.LONG, 1_000e18, 10e18);
        _open(BOB, Side.SHORT, 10_000e18, 1e18);
        int256 ratio = clearingHouse.getMarginRatio(address(amm), ALICE);
        assertLt(ratio, int256(uint256(IMR)), "below IMR before");

        (int256 equityAfter, uint256 markAfter) = _afterIncrease(ALICE, 2_000e18, 1e18);
        assertGe(equityAfter, int256(Math.mulDiv(markAfter, IMR, 1e18, Math.Rounding.Ceil)), "would meet it after");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.MarginRatioTooLow.selector, ratio, IMR));
        clearingHouse.openPosition(address(amm), Side.LONG, 2_000e18, 1e18, 0, NO_DEADLINE);

        // Margin to reach exactly ceil(mark x IMR) at the spot price: then the increase goes through.
        (int256 equity, uint256 mark) = _markEquity(ALICE);
        uint256 topUp = uint256(int256(Math.mulDiv(mark, IMR, 1e18, Math.Rounding.Ceil)) - equity);
        vm.prank(ALICE);
        clearingHouse.addMargin(address(amm), topUp - 1);
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.MarginRatioTooLow.selector,
                ((equity + int256(topUp) - 1) * 1e18) / int256(mark),
                IMR
            )
        );
        clearingHouse.openPosition(address(amm), Side.LONG, 2_000e18, 1e18, 0, NO_DEADLINE);
        vm.prank(ALICE);
        clearingHouse.addMargin(address(amm), 1);
        _open(ALICE, Side.LONG, 2_000e18, 1e18);
        IClearingHouse.Position memory p = _position(ALICE);
        assertEq(p.margin, 1_000e18 + topUp + 2_000e18, "margin");
        assertEq(p.openNotional, 12_000e18, "openNotional");
        assertGe(clearingHouse.getMarginRatio(address(amm), ALICE), int256(uint256(IMR)), "meets IMR after");
    }

    // ------------------------------------------------------------------ reversal with a dust rest

    /// @dev The last PositionChanged among `logs`: (baseDelta, quoteAmount, realizedPnl, fee, freeDelta).
    function _lastPositionChanged(
        Vm.Log[] memory logs
    ) internal view returns (int256 baseDelta, uint256 quote, int256 pnl, uint256 fee, int256 freeDelta) {
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(clearingHouse)) continue;
            if (logs[i].topics[0] != IClearingHouse.PositionChanged.selector) continue;
            int256 fundingPayment;
            (baseDelta, quote, pnl, fee, fundingPayment, freeDelta, , , ) = abi.decode(
                logs[i].data,
                (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256)
            );
            assertEq(fundingPayment, int256(0), "no oracle: no funding");
            found = true;
        }
        assertTrue(found, "no PositionChanged");
    }

    /// @notice A short reversed to LONG with notional = exit value + 1 wei: at price ~8 the 1 wei rest
    /// buys 0 base, so it is not traded and the call is a plain close (no ZeroSwapAmount): the whole
    /// short is bought back, margin + PnL - close fee is paid out, no margin or fee is taken for the
    /// rest, and the base reserve is back where it started.
    function test_reversalToLongWithDustRestIsAPlainClose() public {
        (, uint256 b0) = amm.getReserves();
        _open(ALICE, Side.SHORT, 1_000e18, 2e18);
        IClearingHouse.Position memory p = _position(ALICE);
        uint256 exit = amm.previewSwapBase(p.size, uint256(-p.size));
        uint256 free = vault.freeCollateral(ALICE);

        vm.recordLogs();
        _open(ALICE, Side.LONG, exit + 1, 1e18);
        int256 payout = _checkDustReversalEvent(p, exit, vm.getRecordedLogs());

        IClearingHouse.Position memory np = _position(ALICE);
        assertEq(np.size, int256(0), "closed");
        assertEq(np.margin, 0, "no margin for the rest");
        assertEq(np.openNotional, 0, "no open notional");
        assertEq(vault.freeCollateral(ALICE), uint256(int256(free) + payout), "free collateral");
        (, uint256 b) = amm.getReserves();
        assertEq(b, b0, "base reserve back to its start");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong + oiShort, 0, "no open interest");
    }

    /// @dev The event of a dust reversal of `p` (closed at `exit`): a close's; returns the payout.
    function _checkDustReversalEvent(
        IClearingHouse.Position memory p,
        uint256 exit,
        Vm.Log[] memory logs
    ) internal view returns (int256 payout) {
        (int256 baseDelta, uint256 quote, int256 pnl, uint256 fee, int256 freeDelta) = _lastPositionChanged(logs);
        uint256 closeFee = (exit * 0.001e18 + 1e18 - 1) / 1e18;
        payout = int256(p.margin) + int256(p.openNotional) - int256(exit) - int256(closeFee);
        assertEq(baseDelta, -p.size, "baseDelta: the whole short bought back");
        assertEq(quote, exit, "quoteAmount: the exit value (the rest is not traded)");
        assertEq(pnl, int256(p.openNotional) - int256(exit), "PnL at the exit value");
        assertEq(fee, closeFee, "only the close fee");
        assertEq(freeDelta, payout, "payout");
    }

    /// @notice The boundary: a rest of 100 wei buys 12 wei of base at price ~8, so the same call
    /// reverses into a long of notional 100 wei with margin 100 wei (1x).
    function test_reversalToLongWithRestThatBuysBaseReverses() public {
        _open(ALICE, Side.SHORT, 1_000e18, 2e18);
        IClearingHouse.Position memory p = _position(ALICE);
        uint256 exit = amm.previewSwapBase(p.size, uint256(-p.size));
        _open(ALICE, Side.LONG, exit + 100, 1e18);
        IClearingHouse.Position memory np = _position(ALICE);
        assertGe(np.size, int256(1), "reversed into a long");
        assertEq(np.openNotional, 100, "openNotional = rest");
        assertEq(np.margin, 100, "margin = rest / 1x");
    }

    function test_zeroLeverageReverts() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ZeroNotional.selector));
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000e18, 0, 0, NO_DEADLINE);
    }
}
