// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IAmmCurveErrors
/// @notice The errors of a market's dynamic curve ({IAmmCurve}); {IAmmErrors} inherits them.
interface IAmmCurveErrors {
    /// @notice A trade that grows the trader's exposure and the market's net position would take
    /// |net| x price above maxVammLeverage x (budget + fundShareRatio x insurance fund). A close,
    /// reduce or liquidation is never refused for it.
    error VammLeverageExceeded(uint256 exposure, uint256 maxExposure);
    /// @notice `repegThresholdRatio` neither 0 nor within [MIN_REPEG_THRESHOLD, MAX_REPEG_THRESHOLD].
    error RepegThresholdOutOfRange(uint256 repegThresholdRatio);
    /// @notice `baseSpreadRatio` above MAX_BASE_SPREAD, or `maxSpreadRatio` below it or above MAX_SPREAD.
    error SpreadOutOfRange(uint256 baseSpreadRatio, uint256 maxSpreadRatio);
    /// @notice The repeg threshold or a spread bound is not a whole number of `step` (a millionth):
    /// the three are kept in steps, in the slot every trade on the curve reads.
    error CurveRatioNotWholeStep(
        uint256 repegThresholdRatio,
        uint256 baseSpreadRatio,
        uint256 maxSpreadRatio,
        uint256 step
    );
    /// @notice `maxVammLeverage` neither 0 nor within [MIN_VAMM_LEVERAGE, MAX_VAMM_LEVERAGE].
    error VammLeverageOutOfRange(uint256 maxVammLeverage);
    /// @notice `fundShareRatio` above 100%.
    error FundShareOutOfRange(uint256 fundShareRatio);
    /// @notice `budgetFloor` above `budgetTarget`, or the target above what the budget slot holds
    /// (2^88 - 1).
    error BudgetBoundsInvalid(uint256 budgetFloor, uint256 budgetTarget);
    /// @notice `maxDepthChangeRatio` above MAX_DEPTH_CHANGE, `minDepthRatio` outside
    /// [MIN_DEPTH_LIMIT, 1x] or `maxDepthRatio` outside [1x, MAX_DEPTH_LIMIT].
    error DepthBoundsOutOfRange(uint256 maxDepthChangeRatio, uint256 minDepthRatio, uint256 maxDepthRatio);
    /// @notice The net position cannot be valued on the curve (b + net not positive): raised by
    /// {CurveAdjustment-terminalBase}, declared here so the Amm's ABI decodes it.
    error NetPositionExceedsCurve(uint256 baseReserve, int256 netPosition);
}

/// @title IAmmCurve
/// @notice The dynamic curve of a market (issue 14, seed 004): a peg that follows the index
/// (repeg), a depth that follows the market's results (formulaic k), a spread that prices the
/// market's risk, and a bound on the net position the market's own funds back. All of it is paid
/// from and into the market's AMM budget, real money in the market's Vault pool counted in its
/// locked margin (so it never pays profit or claims).
///
/// The Amm stores effective reserves (quote, base) every swap uses; a repeg multiplies the quote
/// reserve by newPrice / oldPrice (base unchanged), a depth change scales both. `peg` and `depth`
/// (1e18 at launch) record the product of those factors. The cost of an adjustment is the exact
/// change of the terminal value V(q, b) = q x net / (b + net) (what closing every open position
/// on the curve pays the traders): a positive cost is paid from the budget above its floor, a
/// negative one credits nothing (see {CurveAdjustment}).
///
/// The market holds the long-short imbalance, so its budget also answers for the imbalance's
/// funding (with any feature on): it pays the receiving side's excess from what it holds above its
/// floor before the insurance fund, and takes the paying side's surplus up to its target, the fund
/// the rest ({BudgetFundingFlow}; see {Funding}).
///
/// Every feature is off by default (a static x*y=k curve); `setCurveParams` turns them on.
interface IAmmCurve is IAmmCurveErrors {
    /// @notice A market's dynamic-curve parameters, all 18-decimal fixed point (0 = off where stated).
    /// @param repegThresholdRatio Repeg when the spot (at a trade) or the mark TWAP (at a funding
    /// update) is more than this fraction of the index away from it; 0 (no repeg) or 0.1%..20%.
    /// @param baseSpreadRatio The least half-spread a trade pays, as a fraction of its notional (<= 1%).
    /// @param maxSpreadRatio The cap of the half-spread (>= base, <= 5%).
    /// @param maxVammLeverage The most |net position| x price a trade that grows it may leave, as a
    /// multiple of (budget + fundShareRatio x insurance fund); 0 (off) or 0.5x..50x.
    /// @param fundShareRatio The share of the insurance fund the leverage bound counts (<= 100%).
    /// @param budgetFloor What a repeg, depth change, bad debt or funding subsidy never takes the
    /// budget below (quote).
    /// @param budgetTarget The budget above which the depth grows and below which the spread widens
    /// and the paying side's funding surplus refills it (quote; >= floor).
    /// @param maxDepthChangeRatio Largest depth change per funding update; 0 (fixed k) to 10%.
    /// @param minDepthRatio Lowest depth, as a multiple of the launch depth (0.1x..1x).
    /// @param maxDepthRatio Highest depth, as a multiple of the launch depth (1x..10x).
    struct CurveParams {
        uint256 repegThresholdRatio;
        uint256 baseSpreadRatio;
        uint256 maxSpreadRatio;
        uint256 maxVammLeverage;
        uint256 fundShareRatio;
        uint256 budgetFloor;
        uint256 budgetTarget;
        uint256 maxDepthChangeRatio;
        uint256 minDepthRatio;
        uint256 maxDepthRatio;
    }

    /// @notice The curve's state.
    /// @param peg Product of the repegs' quote factors (1e18 at launch).
    /// @param depth Product of the depth changes' factors (1e18 at launch).
    /// @param budget The market's AMM budget (quote).
    /// @param netPosition Longs' total size less shorts' (base).
    /// @param terminalValue What closing the net position on the curve would pay the traders in
    /// total, V(q, b) (negative: they would pay).
    /// @param budgetAtLastUpdate The budget after the last funding update's adjustments.
    struct CurveState {
        uint256 peg;
        uint256 depth;
        uint256 budget;
        int256 netPosition;
        int256 terminalValue;
        uint256 budgetAtLastUpdate;
    }

    /// @notice The owner changed the curve parameters.
    event CurveParamsUpdated(CurveParams params);
    /// @notice The quote reserve moved toward the index; `cost` is the exact change of the
    /// terminal value (positive: paid from the budget; negative: the traders' loss, not credited).
    event Repegged(
        uint256 oldPeg,
        uint256 newPeg,
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 cost,
        uint256 budgetAfter
    );
    /// @notice Both reserves were scaled at a funding update (formulaic k).
    event DepthChanged(
        uint256 oldDepth,
        uint256 newDepth,
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 cost,
        uint256 budgetAfter
    );
    /// @notice A trade paid `spreadFee` (its notional x `spreadRatio`, rounded up) into the budget.
    event SpreadCharged(uint256 spreadRatio, uint256 spreadFee, uint256 budgetAfter);
    /// @notice The ClearingHouse credited `amount` moved into the market's pool to the budget.
    event BudgetCredited(uint256 amount, uint256 budgetAfter);
    /// @notice At a funding update the budget collected `amount` of what the curve's moves gained
    /// (the net position's loss), out of the market pool's realised surplus; `stillToCollect` waits.
    event GainsCollected(uint256 amount, uint256 stillToCollect, uint256 budgetAfter);
    /// @notice A funding accrual's imbalance moved the budget by `amount` (see {IAmm-FundingSnapshot}):
    /// positive, the paying side's surplus refilled it toward its target; negative, it paid the
    /// receiving side's excess from what it holds above its floor, before the insurance fund.
    event BudgetFundingFlow(int256 amount, uint256 budgetAfter);
    /// @notice The market was settled: its whole budget left the curve for the market's pool.
    event BudgetReleased(uint256 amount);
    /// @notice A liquidation's bad debt (at the fair price) and then its liquidator's reward took
    /// `amount` of the budget above its floor: the market's own money, released from its locked
    /// margin, paid them before the fund.
    event BudgetSpentOnBadDebt(uint256 amount, uint256 budgetAfter);

    /// @notice Sets the curve parameters (owner only), within the contract's hard bounds.
    function setCurveParams(CurveParams calldata params) external;

    /// @notice Credits `amount` the ClearingHouse moved into the market's pool (locked) to the
    /// budget (ClearingHouse only).
    function creditBudget(uint256 amount) external;

    /// @notice Credits the budget with what the curve's moves gained, as far as `available` (the
    /// market pool's realised surplus, {IVault-profitAvailable}) pays (ClearingHouse only, at a
    /// funding update). A repeg or depth change that makes the net position lose costs the budget
    /// nothing and credits nothing at once: the traders' larger loss reaches the pool only as they
    /// realise it; this collects it from there, so it neither stays unowned in the pool nor is
    /// counted before it is money. Returns what was collected; the ClearingHouse locks as much.
    function collectGains(uint256 available) external returns (uint256 collected);

    /// @notice Takes the whole budget out of the curve when the market is settled (ClearingHouse
    /// only): the money is then the market pool's like any surplus. Returns the amount.
    function releaseBudget() external returns (uint256 budget);

    /// @notice Pays up to `badDebt` of a liquidation's cost (its fair bad debt, then the
    /// liquidator's reward) from the budget above its floor (ClearingHouse only; the ClearingHouse
    /// releases the same amount of the market's locked margin, so the market's own money is the
    /// first loss and the insurance fund covers only the rest). Returns what it spent:
    /// min(badDebt, budget - floor), 0 at or below the floor.
    function coverBadDebt(uint256 badDebt) external returns (uint256 spent);

    /// @notice The curve parameters.
    function getCurveParams() external view returns (CurveParams memory);

    /// @notice The curve's state (peg, depth, budget, net position, terminal value).
    function getCurveState() external view returns (CurveState memory);

    /// @notice The curve a trade now would trade on: the reserves and the budget after the repeg
    /// the trade would run first (the spot more than the repeg threshold from a fresh index), and
    /// that repeg's signed cost (+ paid by the budget; a gain, -, credits nothing now); the current
    /// reserves, the budget and 0 when no repeg is due. Previews of a trade (the viewer's, a keeper's)
    /// value it on these reserves, as the trade itself does.
    function previewRepeg()
        external
        view
        returns (uint256 quoteReserve, uint256 baseReserve, uint256 budget, int256 cost);

    /// @notice The best bid and ask now: spot x (1 -/+ the half-spread a trade of one wei each
    /// way would pay). Both equal the spot price with the spread off.
    function getBidAsk() external view returns (uint256 bid, uint256 ask);

    /// @notice The spread fee a trade changing the traders' net position by `baseDelta` (the
    /// trader's base change: + buys base, the price rises) for `notional` quote would pay on the
    /// current curve: the swap's own formula (a repeg the trade would trigger first aside), on the
    /// budget the swap meets: the stored one moved by its share of the funding the swap accrues
    /// first (as {getBidAsk}).
    function previewSpreadFee(int256 baseDelta, uint256 notional) external view returns (uint256 spreadFee);

    /// @notice As {previewSpreadFee}, on a curve other than the current one: the curve a repeg the
    /// trade runs first leaves ({previewRepeg}), or the one a reversal's close leaves for its opening
    /// leg. `quoteReserve` / `baseReserve`: that curve's reserves; `firstBaseDelta`: how much an
    /// earlier leg of the same call moved the net position (0: none); `budget`: the budget the trade
    /// finds (after the repeg's cost, plus an earlier leg's spread).
    function previewSpreadFeeAfter(
        int256 firstBaseDelta,
        uint256 budget,
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 baseDelta,
        uint256 notional
    ) external view returns (uint256 spreadFee);
}
