// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {InsuranceFund} from "../../../contracts/InsuranceFund.sol";
import {IAmm, Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IPriceFeed} from "../../../contracts/interfaces/IPriceFeed.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed finding (invariant/SPEC.md, the `deep` P20 failure): a position whose pending
/// funding exceeds its margin closes or reduces with a profit its market's pool cannot pay. Its
/// funding debt beyond the margin already sits in the receivers' locked margin (and the fund's
/// share); it used to be "paid" out of that unpayable profit, so the locked margin rose with no
/// money behind it and the receivers' margins were backed by nothing. Now the insurance fund
/// advances exactly that gap into the pool, booked as its receivable ahead of every claim.
///
/// The market: 1,000,000 / 10,000 (price 100), no fee, index flat at 100, index band 50%. A 10x
/// long of 10,000 (margin 1,000), the short under test (margin 100, 10x), then a 1x short of 200,000
/// that takes the mark to ~65: the short under test gains ~350 that the pool cannot pay (nobody
/// realised a loss), and every short pays funding at the capped premium. Hourly funding updates
/// run until its funding debt passes its margin by 150.
contract FundingDebtPaidFromUnpayableProfitIsAdvancedTest is Deployer {
    uint256 internal constant DEADLINE = type(uint256).max;
    address internal constant LONG = address(0x1001);
    address internal constant SHORT = address(0x5001);
    address internal constant WHALE = address(0x5002);

    MockAggregator internal aggregator;
    InsuranceFund internal insuranceFund;
    uint80 internal round = 1;

    function setUp() public {
        aggregator = deploySystemWithIndex(1_000_000e18, 10_000e18, 0, noLimits(), 100e8);
        amm.setFundingParams(IAmm.FundingParams(0.5e18, 300, 3600));
        amm.setIndexBand(0.5e18);
        insuranceFund = new InsuranceFund(usdc, IVault(address(vault)), address(this), "Staked insurance", "sINS");
        clearingHouse.setInsuranceFund(address(insuranceFund));
        usdc.mint(address(this), 100_000e6);
        usdc.approve(address(insuranceFund), 100_000e6);
        insuranceFund.deposit(100_000e6, address(this));

        _open(LONG, Side.LONG, 1_000e18, 10e18);
        _open(SHORT, Side.SHORT, 100e18, 10e18);
        _open(WHALE, Side.SHORT, 200_000e18, 1e18);
        uint256 margin = clearingHouse.getPosition(address(amm), SHORT).margin;
        for (
            uint256 i;
            i < 200 && clearingHouse.getPendingFunding(address(amm), SHORT) <= int256(margin) + 150e18;
            ++i
        ) {
            vm.warp(block.timestamp + 1 hours);
            ++round;
            aggregator.setRoundData(round, 100e8, block.timestamp, block.timestamp, round);
            clearingHouse.updateFunding(address(amm));
        }
    }

    function _open(address trader, Side side, uint256 margin, uint256 leverage) internal {
        fund(trader, (margin / 1e12) + 1);
        vm.prank(trader);
        clearingHouse.openPosition(address(amm), side, margin, leverage, 0, DEADLINE);
    }

    struct Before {
        uint256 margin;
        uint256 debt;
        uint256 profit;
        uint256 pool;
        uint256 locked;
        uint256 receivable;
        uint256 fund;
        uint256 free;
    }

    function _before() internal view returns (Before memory b) {
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), SHORT);
        b.margin = p.margin;
        b.debt = uint256(clearingHouse.getPendingFunding(address(amm), SHORT));
        // A short's profit on closing all of it: its basis less the quote that buys its base back.
        b.profit = p.openNotional - amm.previewSwapBase(p.size, uint256(-p.size));
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        (b.pool, b.locked, b.receivable) = (m.pool, m.lockedMargin, m.fundReceivable);
        (, b.fund) = vault.getPoolBalances();
        b.free = vault.freeCollateral(SHORT);
    }

    function test_fixed_closeWithFundingDebtBeyondMarginIsBackedByTheFund() public {
        Before memory b = _before();
        // The case: funding debt beyond the margin, a profit that covers it, a pool that cannot pay it.
        assertGt(b.debt, b.margin + 150e18, "funding debt beyond the margin");
        assertGt(b.margin + b.profit, b.debt, "the profit covers the debt: the close is solvent");
        assertEq(vault.profitAvailable(address(amm)), 0, "the pool can pay no profit");
        uint256 beyondMargin = b.debt - b.margin;
        uint256 spare = b.pool - b.locked;
        assertLt(spare, beyondMargin, "the pool's spare cannot cover the debt beyond the margin");

        vm.prank(SHORT);
        clearingHouse.closePosition(address(amm), 0, DEADLINE);

        // Its whole net (margin + profit - funding) waits as its claim; nothing paid now.
        assertEq(vault.claimOf(address(amm), SHORT), b.margin + b.profit - b.debt, "claim = net");
        assertEq(vault.freeCollateral(SHORT), b.free, "nothing paid now");
        // The locked margin rose by the debt beyond the margin (the position's negative share left);
        // the fund advanced exactly what the pool's spare did not cover, as its receivable.
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        uint256 advance = beyondMargin - spare;
        assertEq(m.lockedMargin, b.locked + beyondMargin, "locked margin");
        assertEq(m.pool, m.lockedMargin, "the pool holds its locked margin again");
        assertEq(m.pool, b.pool + advance, "pool = before + the advance");
        assertEq(m.fundReceivable, b.receivable + advance, "the advance is the fund's receivable");
        (, uint256 fundAfter) = vault.getPoolBalances();
        assertEq(fundAfter, b.fund - advance, "the fund lent the advance");
    }

    /// @notice The same position reduced by half: the rest carries what its margin can, the fund
    /// advances what the pool's spare could not back, and the pool again covers its locked margin.
    function test_fixed_reduceWithFundingDebtBeyondMarginIsBackedByTheFund() public {
        Before memory b = _before();
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), SHORT);
        vm.prank(SHORT);
        clearingHouse.reducePosition(address(amm), uint256(-p.size) / 2, 0, DEADLINE);
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertGe(m.pool, m.lockedMargin, "the pool covers its locked margin");
        (, uint256 fundAfter) = vault.getPoolBalances();
        assertEq(m.pool - b.pool, b.fund - fundAfter, "the pool grew by what the fund advanced");
        assertEq(m.fundReceivable - b.receivable, b.fund - fundAfter, "and the fund booked it");
        assertGt(b.fund - fundAfter, 0, "an advance was needed");
    }
}
