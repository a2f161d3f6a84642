// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed finding (the `deep` profile's P20, issue 13): a liquidation paid its penalty out of a
/// realised profit the market's pool could not pay, i.e. out of margin that backs other positions.
/// The split bounds the penalty by the equity (margin + PnL); the trader's payout deferred only
/// what it could hold of the unpayable profit, and the rest of that profit paid the penalty in cash.
/// Shrunk from the 18-decimal campaign: a short with margin 0.5313 realising +0.0290 while the pool
/// held exactly its locked margin left the pool 0.029019831715752295 below it.
///
/// Here, worked out by hand on x*y=k (quote 1,000,000, base 10,000, no fee, no index, so no funding;
/// reserves solved for round up): Alice and Bob each open a 10,000 long. Alice's 99.0099009900990099
/// base then fetches Q = 10,198.000392079984316697, a profit R = 198.000392079984316697 that the pool
/// (holding only the two margins) cannot pay: profitAvailable 0. The owner raises the MMR to 90% and
/// the liquidation penalty to 10% with a minimum rest that forces a full close; the penalty is
/// P = ceil(Q / 10) = 1,019.800039207998431670, reward P / 2 and the fund's part P - P / 2, both
/// 509.900019603999215835.
///
/// - 10x (margin 1,000): equity 1,198.000392... >= P, payout 178.200352871985885027 = R - ceil(R/10),
///   all of it Alice's claim (below R). The penalty's part beyond Alice's own margin is
///   X = P - 1,000 = 19.800039207998431670, the profit that paid it: the fund now takes
///   490.099980396000784165 and is owed X as its receivable (before the fix it took all of its part
///   and the pool fell X below the locked margin). Bob's close realises -198.000392079984316886 and
///   payClaims pays the fund's X first, then Alice's claim; 189 wei of rounding stay in the pool.
/// - 50x (IMR 2% at the open; margin 200): equity 398.000392... < P: the reward is the whole equity,
///   the fund's part 0, no payout. The liquidator is paid its cash up to Alice's margin (200) and the
///   rest, 198.000392079984316697 = R, is its claim, paid after Bob's close.
contract LiquidationPenaltyNotPaidFromUnpayableGainTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant KEEPER = address(0x4EE9);

    uint256 internal constant R = 198_000392079984316697;
    uint256 internal constant HALF_PENALTY = 509_900019603999215835;
    uint256 internal constant BOB_LOSS = 198_000392079984316886;

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(ALICE, 20_000e6);
        fund(BOB, 20_000e6);
    }

    function test_fixed_penaltyBeyondOwnMarginIsTheFundsReceivable() public {
        _openBoth(1_000e18, 10e18);
        assertEq(_liquidateAlice().liquidatorReward, HALF_PENALTY, "reward P / 2");

        uint256 claim = 178_200352871985885027;
        uint256 x = 19_800039207998431670;
        assertEq(claim, R - x, "payout = R - ceil(R / 10)");
        assertEq(vault.claimOf(address(amm), ALICE), claim, "Alice's payout waits as her claim");
        assertEq(vault.freeCollateral(KEEPER), HALF_PENALTY, "the liquidator's reward in cash");
        (, uint256 fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, HALF_PENALTY - x, "the fund takes its part less X");
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.fundReceivable, x, "X is the fund's receivable");
        assertEq(m.claims, claim, "claims");
        assertEq(m.lockedMargin, 1_000e18, "Bob's margin stays locked");
        assertEq(m.pool, 1_000e18, "the pool still backs Bob's margin");

        _closeBobAndPay();
        (, fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, HALF_PENALTY, "the fund got its whole part");
        assertEq(vault.claimOf(address(amm), ALICE), 0, "Alice's claim is paid");
        assertEq(vault.freeCollateral(ALICE), 20_000e18 - 1_000e18 + claim, "Alice: deposit - margin + payout");
        m = vault.marketBalances(address(amm));
        assertEq(m.fundReceivable, 0, "receivable paid");
        assertEq(m.pool, BOB_LOSS - R, "rounding left in the pool");
    }

    function test_fixed_rewardBeyondOwnMarginIsTheLiquidatorsClaim() public {
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(0.02e18, 0.01e18, 0));
        _openBoth(200e18, 50e18);
        assertEq(_liquidateAlice().liquidatorReward, 200e18 + R, "reward = the equity");

        assertEq(vault.claimOf(address(amm), ALICE), 0, "no payout");
        assertEq(vault.freeCollateral(KEEPER), 200e18, "cash up to Alice's own margin");
        assertEq(vault.claimOf(address(amm), KEEPER), R, "the rest of the reward waits as a claim");
        (, uint256 fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, 0, "the fund's part is 0");
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.fundReceivable, 0, "nothing owed to the fund");
        assertEq(m.pool, 200e18, "the pool still backs Bob's margin");
        assertEq(m.lockedMargin, 200e18, "Bob's margin");

        _closeBobAndPay();
        assertEq(vault.freeCollateral(KEEPER), 200e18 + R, "the whole reward, the equity");
        assertEq(vault.marketBalances(address(amm)).pool, BOB_LOSS - R, "rounding left in the pool");
    }

    function _openBoth(uint256 margin, uint256 leverage) internal {
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, margin, leverage, 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.LONG, margin, leverage, 0, type(uint256).max);
        vm.warp(block.timestamp + 1 hours);
        vm.roll(block.number + 300);
        assertEq(vault.profitAvailable(address(amm)), 0, "the pool holds only the margins");
    }

    function _liquidateAlice() internal returns (IClearingHouse.LiquidationResult memory r) {
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(1e18, 0.9e18, 0));
        clearingHouse.setLiquidationParams(
            IClearingHouse.LiquidationParams(0.1e18, 0.025e18, 0.1e18, 15 minutes, 1_000_000_000e18)
        );
        vm.prank(KEEPER);
        r = clearingHouse.liquidate(address(amm), ALICE);
        assertTrue(r.full, "a full liquidation");
        assertEq(r.quoteClosed, 10_000e18 + R, "Q");
    }

    function _closeBobAndPay() internal {
        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        assertEq(vault.freeCollateral(BOB) + BOB_LOSS, 20_000e18, "Bob lost BOB_LOSS");
        vault.payClaims(address(amm), 10);
    }
}
