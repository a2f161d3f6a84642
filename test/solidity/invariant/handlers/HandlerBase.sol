// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Amm} from "../../../../contracts/Amm.sol";
import {ClearingHouse} from "../../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../../contracts/Vault.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {MockERC20} from "../../../../contracts/test/MockERC20.sol";
import {CurveMath} from "../../../../contracts/libraries/CurveMath.sol";
import {TestBase} from "../../utils/TestBase.sol";

/// @notice The ghost every handler keeps of the reverts it had no reason to expect (P11 requires none),
/// with the last one's selector for the failure message.
abstract contract UnexpectedReverts {
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;

    function _unexpectedRevert(bytes4 selector) internal {
        unexpectedReverts++;
        lastUnexpectedSelector = selector;
    }
}

/// @notice What every handler of one market shares: the system under test, units, small pure helpers
/// and the unexpected-revert ghost.
/// @dev Handlers never assert (a revert would only be counted and dropped by the fuzzer, since
/// `failOnRevert` is false): they record anything wrong in a ghost counter the invariants read.
abstract contract HandlerBase is TestBase, UnexpectedReverts {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant DEADLINE = type(uint256).max;

    ClearingHouse public immutable clearingHouse;
    Vault public immutable vault;
    Amm public immutable amm;
    MockERC20 public immutable usdc;
    /// @dev Token units x scale = 18-decimal ledger units.
    uint256 public immutable scale;

    constructor(ClearingHouse clearingHouse_, Vault vault_, Amm amm_, MockERC20 usdc_) {
        clearingHouse = clearingHouse_;
        vault = vault_;
        amm = amm_;
        usdc = usdc_;
        scale = 10 ** (18 - uint256(usdc_.decimals()));
    }

    function _position(address t) internal view returns (IClearingHouse.Position memory) {
        return clearingHouse.getPosition(address(amm), t);
    }

    function _params() internal view returns (IClearingHouse.MarketParams memory) {
        return clearingHouse.getMarketParams(address(amm));
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    /// @dev PnL of a position valued at `quote` (what closing it yields over / under its cost).
    function _pnlAt(int256 size, uint256 openNotional, uint256 quote) internal pure returns (int256) {
        return size > 0 ? int256(quote) - int256(openNotional) : int256(openNotional) - int256(quote);
    }

    /// @dev The position's exit value (what a close would realise now), or ok = false when the pool
    /// cannot price it (a short larger than the base reserve: InsufficientReserve).
    function _tryExitValue(int256 size) internal view returns (bool ok, uint256 exit) {
        try amm.previewSwapBase(size, _abs(size)) returns (uint256 quote) {
            return (true, quote);
        } catch {
            return (false, 0);
        }
    }

    /// @dev As {_tryExitValue}, on the curve a trade now trades on: after the repeg it would run
    /// first (IAmmCurve.previewRepeg), as openPosition values a position it classifies.
    function _tryTradeExitValue(int256 size) internal view returns (bool ok, uint256 exit) {
        (uint256 q, uint256 b, , ) = amm.previewRepeg();
        uint256 s = _abs(size);
        if (size < 0 && s >= b) return (false, 0);
        (uint256 newQuote, ) = CurveMath.afterBaseSwap(q, b, size, s);
        return (true, size > 0 ? q - newQuote : newQuote - q);
    }

    function _selector(bytes memory err) internal pure returns (bytes4 sel) {
        return selectorOf(err);
    }
}

/// @notice Called after every action: the staked insurance fund's share price must not fall without a loss.
interface ISharePriceWatch {
    function check() external;
}

/// @notice What the TraderHandler's final settlement asks of the LiquidatorHandler.
interface ILiquidatorHook {
    /// @dev Liquidates `trader` if its liquidation margin ratio is below maintenance: `done` if a
    /// liquidation went through, `liquidatable` if the position was (and may still be) liquidatable.
    function liquidateForSettlement(address trader) external returns (bool done, bool liquidatable);
}

/// @notice What the TraderHandler's final settlement asks of the ClaimsHandler.
interface IClaimsHook {
    /// @dev Pays the market's whole claim queue as far as its pool can (`Vault.payClaims`), checked.
    function payAllClaims() external;
}
