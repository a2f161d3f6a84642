// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Fixed finding (invariant/SPEC.md, "a liquidation pays its realised profit out of other
/// positions' margins"). A liquidation now defers the profit its market's pool cannot pay like any
/// reduce: a partial one leaves it unrealised in the rest (the closed part's basis takes it). Two 10x
/// longs of 100,000 notional each, no fee, no index (quote reserve 1,000,000, base 10,000): the first
/// is in profit after the second's open. The owner then raises the maintenance ratio to 90% (IMR
/// 100%), which makes the profitable first long liquidatable. The pool holds only the two margins
/// (profitAvailable 0), so the (partial) liquidation realises no PnL: the penalty comes out of the
/// margin, the pool still holds exactly the margins left, nothing is queued, and the rest keeps the
/// closed part's profit unrealised.
contract LiquidationKeepsUnpaidProfitInTheRestTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant KEEPER = address(0x4EE9);

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(ALICE, 20_000e6);
        fund(BOB, 20_000e6);
    }

    function test_fixed_liquidationKeepsUnpaidProfitInTheRest() public {
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 10_000e18, 10e18, 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.LONG, 10_000e18, 10e18, 0, type(uint256).max);
        vm.warp(block.timestamp + 1 hours);
        vm.roll(block.number + 300);
        int256 unrealizedBefore = clearingHouse.getUnrealizedPnl(address(amm), ALICE);
        assertGe(unrealizedBefore, int256(1), "Alice is in profit");
        assertEq(vault.profitAvailable(address(amm)), 0, "the pool holds only the margins");

        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(1e18, 0.9e18, 0));
        vm.recordLogs();
        vm.prank(KEEPER);
        IClearingHouse.LiquidationResult memory r = clearingHouse.liquidate(address(amm), ALICE);
        assertTrue(!r.full, "a partial liquidation");
        assertEq(_realizedPnlLogged(), 0, "the profit stayed unrealised");

        IClearingHouse.Position memory alice = clearingHouse.getPosition(address(amm), ALICE);
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        uint256 margins = alice.margin + clearingHouse.getPosition(address(amm), BOB).margin;
        assertEq(m.lockedMargin, margins, "locked = the open margins");
        assertEq(m.claims, 0, "nothing queued");
        assertEq(clearingHouse.getPendingFunding(address(amm), BOB), 0, "no funding owed");
        // The fix: the pool still backs every open margin (the penalty came out of Alice's own).
        assertEq(m.pool, m.lockedMargin, "pool = the locked margin");
        assertGe(clearingHouse.getUnrealizedPnl(address(amm), ALICE), int256(1), "the rest keeps the profit");
    }

    /// @dev The realised PnL of the last PositionChanged the ClearingHouse emitted since recordLogs.
    function _realizedPnlLogged() internal returns (int256 pnl) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(clearingHouse) &&
                logs[i].topics[0] == IClearingHouse.PositionChanged.selector
            ) {
                (, , pnl, , , , , , ) = abi.decode(
                    logs[i].data,
                    (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256)
                );
            }
        }
    }
}
