// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Amm} from "../../../../contracts/Amm.sol";
import {ClearingHouse} from "../../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../../contracts/Vault.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {MockERC20} from "../../../../contracts/test/MockERC20.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {IAmm} from "../../../../contracts/interfaces/IAmm.sol";

/// @notice The owner of the ClearingHouse and the Amm: pauses, changes the market's risk parameters and
/// the Amm's limits, always within their valid ranges (so any revert is unexpected).
contract AdminHandler is HandlerBase {
    uint256 public paramChanges;
    uint256 public limitChanges;
    uint256 public pauses;
    uint256 public unpauses;

    /// @dev The market's parameters at deployment, and its initial base reserve.
    IClearingHouse.MarketParams internal _defaults;
    uint256 internal immutable _b0;

    constructor(
        ClearingHouse clearingHouse_,
        Vault vault_,
        Amm amm_,
        MockERC20 usdc_
    ) HandlerBase(clearingHouse_, vault_, amm_, usdc_) {
        _defaults = clearingHouse_.getMarketParams(address(amm_));
        (, _b0) = amm_.getReserves();
    }

    /// @notice Half the time back to the deployment's parameters; else IMR 1% .. 100%, 0 < MMR < IMR,
    /// fee 0 .. 5% (the whole valid range; 0 .. 0.3% half the time).
    function setMarketParams(uint256 imrSeed, uint256 mmrSeed, uint256 feeSeed) external {
        IClearingHouse.MarketParams memory p = _defaults;
        if (imrSeed & 1 == 1) {
            p.initialMarginRatio = uint64(boundLog(imrSeed >> 1, 0.01e18, 1e18));
            p.maintenanceMarginRatio = uint64(bound(mmrSeed, 1, p.initialMarginRatio - 1));
            p.feeRatio = uint64(feeSeed & 1 == 0 ? bound(feeSeed >> 1, 0, 0.05e18) : bound(feeSeed >> 1, 0, 0.003e18));
        }
        try clearingHouse.setMarketParams(address(amm), p) {
            paramChanges++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Each limit off half the time, else: trade size 1% .. 100% of the quote reserve, price
    /// move 1% .. 100% per block, open interest cap 1.25% .. 250% of the initial base reserve per side.
    function setLimits(uint256 tradeSeed, uint256 fluctuationSeed, uint256 oiSeed) external {
        IAmm.Limits memory l;
        if (tradeSeed & 1 == 1) l.maxTradeRatio = uint64(boundLog(tradeSeed >> 1, 0.01e18, 1e18));
        if (fluctuationSeed & 1 == 1) l.fluctuationLimitRatio = uint64(boundLog(fluctuationSeed >> 1, 0.01e18, 1e18));
        if (oiSeed & 1 == 1) l.maxOpenInterest = uint128(boundLog(oiSeed >> 1, _b0 / 80, (_b0 * 5) / 2));
        try amm.setLimits(l) {
            limitChanges++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Pauses one call in eight (unpause is always taken), so trading is live most of the time.
    function pause(uint256 seed) external {
        if (seed % 8 != 0 || clearingHouse.paused()) return;
        try clearingHouse.pause() {
            pauses++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    function unpause() external {
        if (!clearingHouse.paused()) return;
        try clearingHouse.unpause() {
            unpauses++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Ownable2Step: the test contract hands both contracts over in `setUp`.
    function acceptOwnerships() external {
        clearingHouse.acceptOwnership();
        amm.acceptOwnership();
    }

    function _unexpected(bytes memory err) internal {
        _unexpectedRevert(_selector(err));
    }
}
