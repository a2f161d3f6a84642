// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../../../../contracts/interfaces/IAmm.sol";
import {Vm} from "../../utils/Vm.sol";
import {MarketActor} from "./MarketActor.sol";
import {TraderHandler} from "./TraderHandler.sol";
import {IAmm} from "../../../../contracts/interfaces/IAmm.sol";

/// @notice A keeper calling ClearingHouse.updateFunding at random times: half the time it first waits
/// out `minUpdateInterval`, else it calls whenever (FundingUpdateTooEarly is then the expected
/// answer). Each update is checked against its FundingUpdated event: the insurance flow is the one
/// getFundingIndices predicted and the one the Vault booked, and the premium never exceeds
/// maxPremiumRatio x index TWAP (0 without an index TWAP, or while paused).
contract FundingKeeperHandler is MarketActor {
    address public constant KEEPER = address(0xF00D);

    uint256 public calls;
    uint256 public updates;
    uint256 public nonZeroPremiums;
    uint256 public tooEarly;
    uint256 public waits;
    /// @dev Largest |premium| / (maxPremiumRatio x index TWAP) seen, in basis points (how close to the cap).
    uint256 public maxCapUseBps;

    uint256 public premiumCapViolations;
    uint256 public flowMismatches;
    uint256 public earlyAccepted;

    constructor(TraderHandler traders_) MarketActor(traders_, KEEPER, "funding keeper") {}

    struct Update {
        int256 premium;
        uint256 markTwap;
        uint256 indexTwap;
        int256 longIndex;
        int256 shortIndex;
        int256 insuranceFlow;
    }

    function updateFunding(uint256 seed) external {
        calls++;
        (, uint256 updatedAt, , IAmm.FundingParams memory params) = amm.getFundingState();
        uint256 earliest = updatedAt + params.minUpdateInterval;
        if (seed % 2 == 0 && block.timestamp < earliest) {
            uint256 t = earliest + bound(seed >> 1, 0, 10 minutes);
            vm.roll(block.number + (t - block.timestamp) / 12 + 1);
            vm.warp(t);
            waits++;
        }
        bool early = block.timestamp < earliest;
        bool paused = clearingHouse.paused();
        (, uint256 fundBefore) = vault.getPoolBalances();
        IAmm.FundingSnapshot memory prediction = amm.getFundingIndices(fundBefore);
        int256 predicted = prediction.insuranceFlow;
        int256 budgetFlowBefore = traders.sumBudgetFundingFlow();
        uint256 bookedBefore = traders.sumReceivableBooked();
        vm.recordLogs();
        vm.prank(KEEPER);
        try clearingHouse.updateFunding(address(amm)) {
            if (early) earlyAccepted++;
            updates++;
            Update memory u = _readUpdate();
            (, uint256 fundAfter) = vault.getPoolBalances();
            int256 moved = int256(fundAfter) - int256(fundBefore);
            // The fund takes its share as far as the pool holds beyond its locked margin; the rest is
            // its receivable.
            int256 booked = int256(traders.sumReceivableBooked() - bookedBefore);
            if (u.insuranceFlow != predicted || moved + booked != u.insuranceFlow) flowMismatches++;
            // The budget's share (BudgetFundingFlow, on a dynamic curve) is the one predicted too.
            if (traders.sumBudgetFundingFlow() - budgetFlowBefore != prediction.budgetFlow) flowMismatches++;
            traders.recordFlow(u.insuranceFlow);
            uint256 cap = (u.indexTwap * params.maxPremiumRatio) / WAD;
            uint256 magnitude = u.premium >= 0 ? uint256(u.premium) : uint256(-u.premium);
            if (magnitude > cap || (paused && u.premium != 0)) premiumCapViolations++;
            (int256 statePremium, , , ) = amm.getFundingState();
            if (statePremium != u.premium) premiumCapViolations++;
            if (u.premium != 0) {
                nonZeroPremiums++;
                uint256 use = (magnitude * 10_000) / cap;
                if (use > maxCapUseBps) maxCapUseBps = use;
            }
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            bytes4 sel = selectorOf(err);
            if (early && sel == IAmmErrors.FundingUpdateTooEarly.selector) {
                tooEarly++;
            } else {
                _unexpectedRevert(sel);
            }
        }
        traders.syncK();
    }

    function _readUpdate() internal returns (Update memory u) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault)) traders.recordVaultLog(logs[i].topics, logs[i].data);
            if (logs[i].emitter == address(amm)) traders.recordAmmLog(logs[i].topics, logs[i].data);
            if (logs[i].emitter == address(amm) && logs[i].topics[0] == IAmm.FundingUpdated.selector) {
                u = abi.decode(logs[i].data, (Update));
                seen++;
            }
        }
        if (seen != 1) flowMismatches++;
    }
}
