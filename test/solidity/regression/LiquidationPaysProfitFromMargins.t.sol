// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Finding (invariant/SPEC.md, "a liquidation pays its realised profit out of other
/// positions' margins"), pinned: this test states today's behaviour and must be changed with the fix.
/// A close or reduce defers the gain its market's pool cannot pay beyond the locked margin into a
/// claim; a liquidation does not. Two 10x longs of 100,000 notional each, no fee, no index (quote
/// reserve 1,000,000, base 10,000): the first is in profit after the second's open. The owner then
/// raises the maintenance ratio to 90% (IMR 100%), which makes the profitable first long
/// liquidatable; the (partial) liquidation realises the closed part's profit and credits it, less the
/// penalty, to the rest's margin and the keeper, from the pool, which holds only the two margins: the
/// pool ends below the open positions' margins by the realised profit, with no funding owed to
/// explain it (P20's allowance `sumLiquidationGains`).
contract LiquidationPaysProfitFromMarginsTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant KEEPER = address(0x4EE9);

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(ALICE, 20_000e6);
        fund(BOB, 20_000e6);
    }

    function test_finding_liquidationPaysProfitOutOfOtherMargins() public {
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 10_000e18, 10e18, 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.LONG, 10_000e18, 10e18, 0, type(uint256).max);
        vm.warp(block.timestamp + 1 hours);
        vm.roll(block.number + 300);
        assertGe(clearingHouse.getUnrealizedPnl(address(amm), ALICE), int256(1), "Alice is in profit");

        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(1e18, 0.9e18, 0));
        vm.recordLogs();
        vm.prank(KEEPER);
        clearingHouse.liquidate(address(amm), ALICE);
        int256 pnl = _realizedPnlLogged();
        assertGe(pnl, int256(1), "the liquidation realised a profit");

        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        uint256 margins =
            clearingHouse.getPosition(address(amm), ALICE).margin + clearingHouse.getPosition(address(amm), BOB).margin;
        assertEq(m.lockedMargin, margins, "locked = the open margins");
        assertEq(m.claims, 0, "nothing was deferred");
        assertEq(clearingHouse.getPendingFunding(address(amm), BOB), 0, "no funding owed");
        // The finding: the pool holds less than the margins that back the open positions, short by
        // exactly the profit the liquidation realised and paid (to the rest's margin, the penalty).
        assertEq(int256(m.lockedMargin) - int256(m.pool), pnl, "pool short of the locked margin by the profit");
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
