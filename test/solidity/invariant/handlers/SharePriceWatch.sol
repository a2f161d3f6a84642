// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {InsuranceFund} from "../../../../contracts/InsuranceFund.sol";
import {TraderHandler} from "./TraderHandler.sol";
import {LiquidatorHandler} from "./LiquidatorHandler.sol";
import {ISharePriceWatch} from "./HandlerBase.sol";

/// @notice The staked insurance fund's share price, (totalAssets + 1) / (totalSupply + 10^6) (the
/// ERC4626 virtual offset), checked after every action: a fall is counted in `sharePriceDrops` unless
/// the fund lost something since the previous check: bad debt it covered, a reward it paid with bad
/// debt, funding it paid out, or an advance to a pool (ghosts of the LiquidatorHandler and the
/// TraderHandler).
contract SharePriceWatch is ISharePriceWatch {
    InsuranceFund public immutable fund;
    /// @dev Every market's ledger and liquidator (one each in a single-market campaign): the fund is
    /// shared, so a loss in any market explains a fall.
    TraderHandler[] internal _traders;
    LiquidatorHandler[] internal _liquidators;

    uint256 internal _lastAssets;
    uint256 internal _lastSupply;
    uint256 internal _lastLosses;
    uint256 public checks;
    uint256 public sharePriceDrops;
    uint256 public dropsOnBadDebt;
    uint256 public dropsOnFunding;
    uint256 internal _lastBadDebt;

    constructor(InsuranceFund fund_, TraderHandler[] memory traders_, LiquidatorHandler[] memory liquidators_) {
        fund = fund_;
        _traders = traders_;
        _liquidators = liquidators_;
    }

    function check() external {
        checks++;
        uint256 a = fund.totalAssets() + 1;
        uint256 s = fund.totalSupply() + 1e6;
        uint256 badDebtLosses;
        uint256 losses;
        for (uint256 i; i < _liquidators.length; ++i) {
            badDebtLosses += _liquidators[i].sumCovered() + _liquidators[i].sumRewardsFromFund();
        }
        // Funding the fund paid, and what it advanced to a pool (lent: repaid ahead of the claims).
        for (uint256 i; i < _traders.length; ++i)
            losses += _traders[i].sumFundOutflows() + _traders[i].sumFundAdvanced();
        losses += badDebtLosses;
        // a / s < lastAssets / lastSupply, without overflow (the supply explodes after a wipe-out).
        if (_lastSupply != 0 && Math.mulDiv(a, _lastSupply, s) < _lastAssets) {
            if (losses == _lastLosses) sharePriceDrops++;
            else if (badDebtLosses != _lastBadDebt) dropsOnBadDebt++;
            else dropsOnFunding++;
        }
        (_lastAssets, _lastSupply, _lastLosses, _lastBadDebt) = (a, s, losses, badDebtLosses);
    }
}
