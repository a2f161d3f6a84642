// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Side} from "../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../contracts/interfaces/IVault.sol";
import {Deployer} from "./utils/Deployer.sol";

/// @notice Unit tests of pause, deadline and the leverage bound.
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

    // ------------------------------------------------------------------ pause

    function test_pauseBlocksOpenCloseAndMargin() public {
        _open(ALICE, Side.LONG, 1_000e18, 2e18);
        clearingHouse.pause();
        bytes memory paused = abi.encodeWithSelector(Pausable.EnforcedPause.selector);

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

    /// @dev Deposits and withdrawals live in the Vault and are not paused by the ClearingHouse.
    function test_pauseLeavesVaultOpen() public {
        clearingHouse.pause();
        vm.prank(ALICE);
        vault.withdraw(1e6);
        fund(ALICE, 1e6);
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
        timestamp = bound(timestamp, 1, type(uint64).max);
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

    // ------------------------------------------------------------------ shared margin pool

    /// @notice Documents current behaviour (see the report): with no liquidation path, a loser's bad
    /// debt leaves the shared margin pool unable to pay a winner, whose close then reverts until
    /// someone tops the loser up. Bob goes long 10k at 1x; Alice goes long 10k at 10x (price up, Bob
    /// gains ~1.8k); Bob's close would push Alice (margin 1k) underwater, and Bob's payout (~11.8k)
    /// exceeds the pool (Alice's 1k + Bob's 10k).
    function test_badDebtBlocksProfitableClose() public {
        _open(BOB, Side.LONG, 10_000e18, 1e18);
        _open(ALICE, Side.LONG, 1_000e18, 10e18);
        int256 bobPnl = clearingHouse.getUnrealizedPnl(address(amm), BOB);
        assertGe(bobPnl, int256(1_000e18), "Bob's profit exceeds Alice's margin");

        (uint256 pool, ) = vault.getPoolBalances();
        IClearingHouse.Position memory bob = clearingHouse.getPosition(address(amm), BOB);
        uint256 exit = amm.previewSwapBase(bob.size, uint256(bob.size));
        uint256 payout = bob.margin + uint256(bobPnl) - (exit * 0.001e18 + 1e18 - 1) / 1e18;
        assertLt(pool, payout, "pool below Bob's payout");
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(IVault.InsufficientMarginPool.selector, pool, payout));
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);

        // Once Alice's margin covers her loss, Bob can close.
        vm.prank(ALICE);
        clearingHouse.addMargin(address(amm), 2_000e18);
        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, NO_DEADLINE);
        assertGe(
            int256(clearingHouse.getPosition(address(amm), ALICE).margin) +
                clearingHouse.getUnrealizedPnl(address(amm), ALICE),
            int256(0),
            "Alice solvent"
        );
    }

    function test_zeroLeverageReverts() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ZeroNotional.selector));
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000e18, 0, 0, NO_DEADLINE);
    }
}
