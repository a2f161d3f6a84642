// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Amm} from "../../../contracts/Amm.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../contracts/Vault.sol";
import {IAmm} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {MockERC20} from "../../../contracts/test/MockERC20.sol";
import {Artifacts} from "./Artifacts.sol";
import {TestBase} from "./TestBase.sol";
import {deployClearingHouse} from "./DeployClearingHouse.sol";

/// @notice Deploys a full system (6-decimal USDC, Vault, ClearingHouse, one Amm) for Solidity tests.
abstract contract Deployer is TestBase {
    MockERC20 internal usdc;
    Vault internal vault;
    ClearingHouse internal clearingHouse;
    Amm internal amm;

    uint64 internal constant IMR = 0.1e18;
    uint64 internal constant MMR = 0.0625e18;

    function deploySystem(
        uint256 quoteReserve,
        uint256 baseReserve,
        uint64 feeRatio,
        IAmm.Limits memory limits
    ) internal {
        deploySystemWithDecimals(6, quoteReserve, baseReserve, feeRatio, limits);
    }

    /// @dev As `deploySystem`, with a collateral token of `decimals` decimals (6..18 are supported).
    /// `usdc` then names that token, whatever its decimals.
    function deploySystemWithDecimals(
        uint8 decimals,
        uint256 quoteReserve,
        uint256 baseReserve,
        uint64 feeRatio,
        IAmm.Limits memory limits
    ) internal {
        deploySystemWithSequencer(
            decimals,
            quoteReserve,
            baseReserve,
            feeRatio,
            limits,
            AggregatorV3Interface(address(0))
        );
    }

    /// @dev As `deploySystemWithDecimals`, with the ClearingHouse's `sequencerFeed` (address(0): none).
    function deploySystemWithSequencer(
        uint8 decimals,
        uint256 quoteReserve,
        uint256 baseReserve,
        uint64 feeRatio,
        IAmm.Limits memory limits,
        AggregatorV3Interface sequencerFeed
    ) internal {
        usdc = new MockERC20("USD Coin", "USDC", decimals);
        clearingHouse = deployClearingHouse(address(this), sequencerFeed);
        vault = new Vault(usdc, address(clearingHouse));
        clearingHouse.setVault(IVault(address(vault)));
        amm = new Amm(
            address(clearingHouse),
            quoteReserve,
            baseReserve,
            limits,
            address(this),
            address(Artifacts.curveModule())
        );
        clearingHouse.addMarket(address(amm), IClearingHouse.MarketParams(IMR, MMR, feeRatio));
    }

    /// @dev As `deploySystem` (6-decimal token), on an L2 with a sequencer feed up for a day and
    /// the Amm's index read from an 8-decimal aggregator answering `indexPrice8` (its round 1),
    /// recorded once. Starts the chain at 1,800,000,000. Returns the aggregator.
    function deploySystemWithIndex(
        uint256 quoteReserve,
        uint256 baseReserve,
        uint64 feeRatio,
        IAmm.Limits memory limits,
        int256 indexPrice8
    ) internal returns (MockAggregator aggregator) {
        vm.warp(1_800_000_000);
        MockAggregator sequencerFeed = new MockAggregator(0);
        sequencerFeed.setSequencerStatus(false, block.timestamp - 1 days);
        ChainlinkPriceFeed priceFeed = Artifacts.priceFeed(address(this));
        deploySystemWithSequencer(
            6,
            quoteReserve,
            baseReserve,
            feeRatio,
            limits,
            AggregatorV3Interface(address(sequencerFeed))
        );
        aggregator = new MockAggregator(8);
        aggregator.setRoundData(1, indexPrice8, block.timestamp, block.timestamp, 1);
        priceFeed.setAsset(bytes32(uint256(1)), aggregator, 1 hours, 10e18, 1_000e18);
        amm.setOracle(priceFeed, bytes32(uint256(1)));
        amm.pokeIndex();
    }

    function noLimits() internal pure returns (IAmm.Limits memory) {
        return IAmm.Limits(0, 0, 0);
    }

    /// @dev 10^(18 - token decimals): token units x scale = 18-decimal ledger units.
    function tokenScale() internal view returns (uint256) {
        return 10 ** (18 - uint256(usdc.decimals()));
    }

    /// @dev Mints and deposits `amountUsdc` (6 decimals) for `trader`.
    function fund(address trader, uint256 amountUsdc) internal {
        usdc.mint(trader, amountUsdc);
        vm.startPrank(trader);
        usdc.approve(address(vault), amountUsdc);
        vault.deposit(amountUsdc);
        vm.stopPrank();
    }
}
