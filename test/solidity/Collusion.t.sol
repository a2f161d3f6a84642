// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Amm} from "../../contracts/Amm.sol";
import {ChainlinkPriceFeed} from "../../contracts/ChainlinkPriceFeed.sol";
import {InsuranceFund} from "../../contracts/InsuranceFund.sol";
import {IAmm, Side} from "../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../contracts/interfaces/IVault.sol";
import {MockAggregator} from "../../contracts/test/MockAggregator.sol";
import {Artifacts} from "./utils/Artifacts.sol";
import {Deployer} from "./utils/Deployer.sol";

/// @notice The issue's fuzzed property against collusion: 2..4 accounts controlled by one party
/// trade any sequence in two markets (opens, increases, reductions, reversals, closes, liquidations
/// of one another, funding updates, several blocks), with the index flat and every limit on: the
/// index band, the trade size limit, the per-block fluctuation limit, the open-interest caps and
/// funding. Then they close everything (liquidating what is liquidatable, topping up what is
/// underwater with fresh deposits, which count as deposited), `payClaims` pays both markets' queues,
/// and their combined free collateral must not exceed what they deposited: with the index flat,
/// nothing they do to the curve, the mark TWAP or each other extracts the insurance fund's or the
/// stakers' money. Once they traded, fees make it strictly less.
contract CollusionTest is Deployer {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant DEADLINE = type(uint256).max;
    uint256 internal constant START = 1_800_000_000;
    uint256 internal constant N_STEPS = 24;

    Amm[2] internal markets;
    ChainlinkPriceFeed internal priceFeed;
    MockAggregator internal sequencerFeed;
    MockAggregator[2] internal aggregators;
    int256[2] internal answers;
    InsuranceFund internal insuranceFund;

    address[] internal accounts;
    uint256 internal depositedUnits;
    uint256 internal trades;

    /// @dev Market 0: 1,000,000 / 8,123.456789 (price ~123.1), fee 0.1%; market 1: 4,000,000 / 2,000
    /// (price 2,000), fee 0.2%. Both: trade size 10% of the quote reserve, 5% per block, open
    /// interest 25% of the initial base reserve a side, index band 3% (below IMR - MMR = 3.75%).
    function setUp() public {
        vm.warp(START);
        vm.roll(1_000);
        sequencerFeed = new MockAggregator(0);
        sequencerFeed.setSequencerStatus(false, block.timestamp - 1 days);
        priceFeed = Artifacts.priceFeed(address(this));
        deploySystemWithSequencer(
            6,
            1_000_000e18,
            8_123_456789000000000000,
            0.001e18,
            IAmm.Limits(0.1e18, 0.05e18, uint128(8_123_456789000000000000 / 4)),
            AggregatorV3Interface(address(sequencerFeed))
        );
        markets[0] = amm;
        markets[1] = new Amm(
            address(clearingHouse),
            4_000_000e18,
            2_000e18,
            IAmm.Limits(0.1e18, 0.05e18, uint128(2_000e18 / 4)),
            address(this),
            amm.curveModule()
        );
        clearingHouse.addMarket(address(markets[1]), IClearingHouse.MarketParams(IMR, MMR, 0.002e18));
        for (uint256 i; i < 2; ++i) _index(i);
        insuranceFund = new InsuranceFund(usdc, IVault(address(vault)), address(this), "Staked insurance", "sINS");
        clearingHouse.setInsuranceFund(address(insuranceFund));
        // Honest stakers' money: what the colluders must not be able to take.
        usdc.mint(address(this), 100_000e6);
        usdc.approve(address(insuranceFund), 100_000e6);
        insuranceFund.deposit(100_000e6, address(this));
    }

    /// @dev Market i's flat index: an 8-decimal aggregator at the initial spot price, funding on
    /// (50% a day at most, updates 5 minutes apart, accrual up to an hour), the index band on.
    function _index(uint256 i) internal {
        Amm a = markets[i];
        (uint256 q, uint256 b) = a.getReserves();
        MockAggregator aggregator = new MockAggregator(8);
        uint256 spot = (q * WAD) / b;
        answers[i] = int256(spot / 1e10);
        aggregators[i] = aggregator;
        bytes32 asset = bytes32(i + 1);
        aggregator.setRoundData(1, answers[i], block.timestamp, block.timestamp, 1);
        priceFeed.setAsset(asset, aggregator, 1 hours, uint128(spot / 10), uint128(spot * 10));
        a.setOracle(priceFeed, asset);
        a.setFundingParams(IAmm.FundingParams(0.5e18, 300, 3600));
        a.setIndexBand(0.03e18);
        a.pokeIndex();
    }

    /// @notice The property, fuzzed over the number of accounts and 24 actions.
    function testFuzz_collusionNeverProfits(uint256 nSeed, uint256[N_STEPS] calldata steps) public {
        uint256 n = bound(nSeed, 2, 4);
        for (uint256 i; i < n; ++i) {
            address account = address(uint160(0xC0110DE0 + i));
            accounts.push(account);
            _deposit(account, 1_000_000e6);
        }
        for (uint256 k; k < N_STEPS; ++k) _act(steps[k]);
        _closeEverything();
        for (uint256 i; i < 2; ++i) _payClaims(markets[i]);

        uint256 held;
        for (uint256 i; i < n; ++i) held += vault.freeCollateral(accounts[i]);
        uint256 deposited = depositedUnits * tokenScale();
        assertLe(held, deposited, "colluding accounts ended with more than they deposited");
        if (trades != 0) assertLt(held, deposited, "colluding accounts traded without paying any fee");
    }

    // ================================================================== actions

    /// @dev One action: the account, the market and the kind come from `x`. Any revert the protocol
    /// answers (limits, band, margin checks, not liquidatable...) just leaves the state as it was:
    /// the property is about what the accounts can get, not about which trades are refused.
    function _act(uint256 x) internal {
        address account = accounts[x % accounts.length];
        Amm a = markets[(x >> 8) & 1];
        uint256 kind = (x >> 9) % 8;
        uint256 seed = x >> 16;
        // Half the actions start a new block (1..120 s later), half share the block.
        if ((x >> 12) & 1 == 1) _nextBlock(bound(seed % 1_000, 1, 120));
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(a), account);
        if (kind <= 2 || p.size == 0) {
            _open(account, a, seed & 1 == 0 ? Side.LONG : Side.SHORT, seed >> 1);
        } else if (kind == 3) {
            // Against the position: a reduction or a reversal, whatever its notional makes it.
            _open(account, a, p.size > 0 ? Side.SHORT : Side.LONG, seed);
        } else if (kind == 4) {
            _close(account, a);
        } else if (kind == 5) {
            // Another colluder liquidates it (the reward stays in the group).
            address keeper = accounts[((x % accounts.length) + 1 + (seed % (accounts.length - 1))) % accounts.length];
            _liquidate(keeper, a, account);
        } else if (kind == 6) {
            _nextBlock(bound(seed, 300, 3_600));
            _refreshIndex();
            try clearingHouse.updateFunding(address(a)) {} catch {}
        } else {
            // Time passes beyond the mark TWAP window (the index is refreshed, still flat).
            _nextBlock(bound(seed, 900, 7_200));
            _refreshIndex();
        }
    }

    /// @dev openPosition of up to 10% of the quote reserve at 1x..10x (the top of it half the time).
    function _open(address account, Amm a, Side side, uint256 seed) internal {
        (uint256 q, ) = a.getReserves();
        uint256 leverage = seed & 1 == 0 ? 10e18 : bound(seed >> 1, 1e18, 10e18);
        uint256 notional = bound(seed >> 64, 100e18, q / 10);
        uint256 margin = Math.mulDiv(notional, WAD, leverage);
        _ensureFree(account, margin + notional / 50);
        vm.prank(account);
        try clearingHouse.openPosition(address(a), side, margin, leverage, 0, DEADLINE) {
            trades++;
        } catch {}
    }

    function _close(address account, Amm a) internal returns (bool ok) {
        vm.prank(account);
        try clearingHouse.closePosition(address(a), 0, DEADLINE) {
            trades++;
            ok = true;
        } catch {}
    }

    function _liquidate(address keeper, Amm a, address account) internal returns (bool ok) {
        if (keeper == account || clearingHouse.getPosition(address(a), account).size == 0) return false;
        vm.prank(keeper);
        try clearingHouse.liquidate(address(a), account) {
            trades++;
            ok = true;
        } catch {}
    }

    // ================================================================== the end

    /// @dev Every position is closed, block after block: liquidated by another colluder while it is
    /// liquidatable, topped up from a fresh deposit when its margin cannot cover its close, then
    /// closed as the block's first swap (the fluctuation limit cannot refuse it); a short that cannot
    /// buy back yet waits for the longs.
    function _closeEverything() internal {
        _refreshIndex();
        for (uint256 pass; pass < 8; ++pass) {
            bool open;
            for (uint256 i; i < 2; ++i) {
                for (uint256 j; j < accounts.length; ++j) {
                    address account = accounts[j];
                    if (clearingHouse.getPosition(address(markets[i]), account).size == 0) continue;
                    _closeOne(markets[i], account, accounts[(j + 1) % accounts.length]);
                    if (clearingHouse.getPosition(address(markets[i]), account).size != 0) open = true;
                }
            }
            if (!open) return;
        }
        for (uint256 i; i < 2; ++i) {
            for (uint256 j; j < accounts.length; ++j) {
                assertEq(clearingHouse.getPosition(address(markets[i]), accounts[j]).size, 0, "a position stayed open");
            }
        }
    }

    function _closeOne(Amm a, address account, address keeper) internal {
        for (uint256 k; k < 16; ++k) {
            _nextBlock(1);
            if (clearingHouse.getPosition(address(a), account).size == 0) return;
            int256 ratio = clearingHouse.getLiquidationMarginRatio(address(a), account);
            if (ratio >= int256(uint256(MMR)) || !_liquidate(keeper, a, account)) break;
        }
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(a), account);
        if (p.size == 0) return;
        try a.previewSwapBase(p.size, p.size > 0 ? uint256(p.size) : uint256(-p.size)) returns (uint256 exit) {
            int256 pnl = p.size > 0 ? int256(exit) - int256(p.openNotional) : int256(p.openNotional) - int256(exit);
            int256 fee = int256(
                Math.mulDiv(exit, clearingHouse.getMarketParams(address(a)).feeRatio, WAD, Math.Rounding.Ceil)
            );
            int256 left = int256(p.margin) - clearingHouse.getPendingFunding(address(a), account) + pnl - fee;
            if (left < 0) {
                _ensureFree(account, uint256(-left));
                vm.prank(account);
                clearingHouse.addMargin(address(a), uint256(-left));
            }
        } catch {
            return; // a short larger than the base reserve: after the longs
        }
        _nextBlock(1);
        _close(account, a);
    }

    /// @dev Pays the market's whole queue as far as its pool can.
    function _payClaims(Amm a) internal {
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(a));
        if (head != tail) vault.payClaims(address(a), tail - head);
    }

    // ================================================================== helpers

    function _deposit(address account, uint256 units) internal {
        fund(account, units);
        depositedUnits += units;
    }

    /// @dev Deposits what `account` lacks to hold `amount` (18 decimals) of free collateral.
    function _ensureFree(address account, uint256 amount) internal {
        uint256 free = vault.freeCollateral(account);
        if (free < amount) _deposit(account, Math.ceilDiv(amount - free, tokenScale()));
    }

    function _nextBlock(uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        vm.roll(block.number + 1);
    }

    /// @dev The index answers again at the same price (flat), and both markets record it.
    function _refreshIndex() internal {
        for (uint256 i; i < 2; ++i) {
            (uint80 round, , , , ) = aggregators[i].latestRoundData();
            aggregators[i].setRoundData(round + 1, answers[i], block.timestamp, block.timestamp, round + 1);
            markets[i].pokeIndex();
        }
    }
}
