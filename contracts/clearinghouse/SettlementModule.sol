// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {IVault} from "../interfaces/IVault.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {PositionMath, StoredPosition} from "../libraries/PositionMath.sol";
import {ClearingHouseModule} from "./ClearingHouseModule.sol";
import {SettlementStorage} from "./SettlementStorage.sol";

/// @dev The kind SettlementModule answers in {ClearingHouseModule-moduleInfo}.
bytes32 constant SETTLEMENT_MODULE_KIND = keccak256("vamm.ClearingHouse.SettlementModule");

/// @title SettlementModule
/// @notice The ClearingHouse's shutdown of a market at its index TWAP, and the settlement of every
/// position at that price, pro rata when the market's pool is short. See {IClearingHouse-settleMarket}.
/// Also a market's upkeep: its funding updates ({IClearingHouse-updateFunding}) and the contributions
/// to its AMM budget ({IClearingHouse-contributeToBudget}).
contract SettlementModule is ClearingHouseModule {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice The window of the index TWAP a market is settled at.
    uint256 public constant SETTLEMENT_TWAP_INTERVAL = 15 minutes;

    /// @notice The most the index TWAP a market settles at may differ from the index read in the
    /// same transaction, as a fraction of that index (2%). The index history holds records, not a
    /// feed: when nobody recorded the index for a while, its TWAP is the last record (say 3,100)
    /// while the index is elsewhere (2,850). Settling at it would pay one side from the other by
    /// the difference; refusing it leaves the operator to record the index over the window first.
    uint256 public constant SETTLEMENT_MAX_INDEX_DRIFT = 0.02e18;

    /// @param sequencerFeed_ The ClearingHouse's sequencer uptime feed (see {ClearingHouseModule}).
    constructor(AggregatorV3Interface sequencerFeed_) ClearingHouseModule(sequencerFeed_) {}

    function _moduleKind() internal pure override returns (bytes32) {
        return SETTLEMENT_MODULE_KIND;
    }

    /// @notice See {IClearingHouse-settleMarket}.
    function settleMarket(address amm) external onlyDelegated onlyOwner {
        Market memory market = _tradableMarket(amm);
        // Read before the refresh, so a market that never recorded an index still reverts NoIndexPrice
        // (the refresh's record would weigh 0 s in this block's TWAP anyway).
        uint256 price = IAmm(amm).getIndexTwap(SETTLEMENT_TWAP_INTERVAL);
        if (price == 0) revert IClearingHouse.NoSettlementPrice(amm);
        _requireFreshIndex(amm, price);
        IAmm.FundingSnapshot memory funding = IAmm(amm).shutdown(_insuranceAvailable());
        // The AMM budget is the market pool's money like any surplus: its locked part is released,
        // so the pool value below counts it for the claims and the fund takes what they leave.
        uint256 budget = IAmm(amm).releaseBudget();
        IVault vault_ = _config.vault;
        int256 flow = funding.insuranceFlow;
        if (flow != 0 || budget != 0) vault_.settle(address(0), amm, 0, flow, -flow - budget.toInt256(), 0);
        (uint256 openLong, uint256 openShort) = IAmm(amm).getOpenInterest();
        market.status = IClearingHouse.MarketStatus.SETTLED;
        _markets[amm] = market;
        // No margin may be added once settled: the Vault refuses it, so addMargin reads no status.
        vault_.closeMarket(amm);
        IClearingHouse.Settlement storage s = SettlementStorage.ofMarket(amm);
        s.price = price;
        s.longIndex = funding.longIndex;
        s.shortIndex = funding.shortIndex;
        s.openLong = openLong;
        s.openShort = openShort;
        // What the market's pool holds for its positions: everything but what it owed before (the
        // fund's receivable and the claims queued).
        IVault.MarketBalances memory balances = vault_.marketBalances(amm);
        s.poolValue = balances.pool.toInt256() - (balances.claims + balances.fundReceivable).toInt256();
        emit IClearingHouse.MarketSettled(amm, price, openLong, openShort);
        if (openLong == 0 && openShort == 0) _completeSettlement(amm, s);
    }

    /// @dev Records the index now (the Amm's pokeIndex) and reverts SettlementIndexStale unless the
    /// oracle gives a valid price within SETTLEMENT_MAX_INDEX_DRIFT of the TWAP `price`; the bound is
    /// rounded down (the protocol's side: no settlement on doubt).
    function _requireFreshIndex(address amm, uint256 price) private {
        (bool valid, uint256 indexPrice) = IAmm(amm).pokeIndex();
        if (!valid) revert IClearingHouse.SettlementIndexStale(amm, price, 0);
        uint256 drift = price > indexPrice ? price - indexPrice : indexPrice - price;
        if (drift > indexPrice.wMulDown(SETTLEMENT_MAX_INDEX_DRIFT)) {
            revert IClearingHouse.SettlementIndexStale(amm, price, indexPrice);
        }
    }

    /// @notice See {IClearingHouse-updateFunding}. A keeper's upkeep of a market, run here so the
    /// ClearingHouse's own code keeps its headroom (a funding update pays one DELEGATECALL more).
    function updateFunding(address amm) external onlyDelegated nonReentrant {
        _tradableMarket(amm);
        (IAmm.FundingSnapshot memory funding, , uint256 curveCost, uint256 gains) = IAmm(amm).updateFunding(
            _insuranceAvailable(),
            _config.paused
        );
        // The accrual moves the positions' margins net of funding: the locked margin follows it; and
        // what the curve's moves cost the budget leaves the locked margin, for the traders' gain.
        int256 flow = funding.insuranceFlow;
        IVault vault = _config.vault;
        if (flow != 0 || curveCost != 0) vault.settle(address(0), amm, 0, flow, -flow - curveCost.toInt256(), 0);
        // What the curve's moves gained, once the traders realised it, is the budget's again.
        if (gains != 0) {
            uint256 collected = IAmm(amm).collectGains(vault.profitAvailable(amm));
            if (collected != 0) vault.settle(address(0), amm, 0, 0, collected.toInt256(), 0);
        }
    }

    /// @notice See {IClearingHouse-contributeToBudget}. Here because it moves a market's money as
    /// settlement does (the same Vault call), so the ClearingHouse's modules share one encoder.
    function contributeToBudget(address amm, uint256 amount) external onlyDelegated {
        if (amount == 0) revert ICommonErrors.ZeroAmount();
        _tradableMarket(amm);
        // The budget's money sits in the pool as locked margin: moved in as a margin is.
        _config.vault.moveMargin(msg.sender, amm, amount.toInt256());
        IAmm(amm).creditBudget(amount);
        emit IClearingHouse.BudgetContributed(msg.sender, amm, amount);
    }

    /// @notice See {IClearingHouse-settlePosition}.
    function settlePosition(address amm, address trader) external onlyDelegated nonReentrant {
        if (_markets[amm].status != IClearingHouse.MarketStatus.SETTLED) revert IClearingHouse.MarketNotSettled(amm);
        IClearingHouse.Settlement storage s = SettlementStorage.ofMarket(amm);
        StoredPosition memory p = _positions[amm][trader];
        bool complete = _isComplete(s);
        if (p.size != 0) {
            complete = _recordClaim(amm, trader, p, s);
        } else if (p.margin == 0) {
            revert IClearingHouse.NoPosition(trader, amm);
        } else if (!complete) {
            revert IClearingHouse.SettlementIncomplete(s.recordedLong, s.openLong, s.recordedShort, s.openShort);
        }
        if (!complete) return;
        p = _positions[amm][trader];
        if (p.margin == 0) return;
        // Pro rata when the claims exceed what the positions held.
        uint256 payout = p.margin;
        if (s.poolValue <= 0) payout = 0;
        else if (s.claims > uint256(s.poolValue)) payout = payout.mulDivDown(uint256(s.poolValue), s.claims);
        delete _positions[amm][trader];
        _config.vault.settle(trader, amm, payout.toInt256(), 0, -int256(uint256(p.margin)), 0);
        emit IClearingHouse.SettlementPaid(trader, amm, payout);
    }

    /// @dev Values a position at the settlement price, records its claim in place of the position
    /// (size 0, margin = claim) and adds it to the market's totals; returns whether every position
    /// has now been recorded.
    function _recordClaim(
        address amm,
        address trader,
        StoredPosition memory p,
        IClearingHouse.Settlement storage s
    ) private returns (bool complete) {
        IAmm.FundingSnapshot memory finalIndices = IAmm.FundingSnapshot(s.longIndex, s.shortIndex, 0, 0);
        int256 held = int256(uint256(p.margin)) - PositionMath.pendingFunding(p, finalIndices);
        int256 value = held + PositionMath.pnl(p.size, p.openNotional, PositionMath.notionalAt(p.size, s.price));
        uint256 claim = value > 0 ? uint256(value) : 0;
        s.claims += claim;
        if (p.size > 0) s.recordedLong += uint256(int256(p.size));
        else s.recordedShort += uint256(-int256(p.size));
        _positions[amm][trader] = StoredPosition(0, claim.toUint128(), 0, 0);
        // The market's locked margin follows the record: the position's margin becomes its claim.
        // (The locked margin held the position's margin net of its funding, `held`.)
        _config.vault.settle(address(0), amm, 0, 0, int256(claim) - held, 0);
        emit IClearingHouse.SettlementRecorded(trader, amm, claim);
        complete = _isComplete(s);
        if (complete) _completeSettlement(amm, s);
    }

    function _isComplete(IClearingHouse.Settlement storage s) private view returns (bool) {
        return s.recordedLong == s.openLong && s.recordedShort == s.openShort;
    }

    /// @dev Once every position is recorded, what the market's pool held for its positions beyond
    /// their recorded claims goes to the insurance fund. The locked margin is then those claims
    /// plus the funding settlements' rounding dust; no funding is owed any more, so the dust is
    /// released with it (the fund takes only what the pool holds beyond the locked margin).
    function _completeSettlement(address amm, IClearingHouse.Settlement storage s) private {
        int256 surplus = s.poolValue - s.claims.toInt256();
        IVault vault_ = _config.vault;
        uint256 locked = vault_.marketBalances(amm).lockedMargin;
        int256 dust = locked > s.claims ? (locked - s.claims).toInt256() : int256(0);
        if (surplus > 0 || dust != 0) vault_.settle(address(0), amm, 0, surplus > 0 ? surplus : int256(0), -dust, 0);
    }
}
