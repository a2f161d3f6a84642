// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IInsuranceFund} from "../../../../contracts/interfaces/IInsuranceFund.sol";
import {InsuranceFund} from "../../../../contracts/InsuranceFund.sol";
import {MockERC20} from "../../../../contracts/test/MockERC20.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {UnexpectedReverts} from "./HandlerBase.sol";
import {TraderHandler} from "./TraderHandler.sol";

/// @notice Three stakers of the insurance fund: deposit, requestRedeem, completeRedeem (half the time
/// after waiting out the cooldown, else whenever: CooldownNotElapsed before it, RedeemRequestExpired
/// once the request has lapsed), cancelRedeem. Every token in
/// and out is reported to the TraderHandler's ledger (P1, P7); each redemption must pay exactly
/// min(value at the request, value now).
contract StakerHandler is TestBase, UnexpectedReverts {
    uint256 public constant N_STAKERS = 3;

    InsuranceFund public immutable fund;
    MockERC20 public immutable usdc;
    TraderHandler public immutable traders;
    uint256 public immutable scale;

    address[N_STAKERS] internal _stakers;

    uint256 public stakes;
    uint256 public requests;
    uint256 public completions;
    uint256 public cancels;
    uint256 public expectedReverts;
    uint256 public redeemMismatches;

    constructor(InsuranceFund fund_, MockERC20 usdc_, TraderHandler traders_) {
        fund = fund_;
        usdc = usdc_;
        traders = traders_;
        scale = 10 ** (18 - uint256(usdc_.decimals()));
        for (uint256 i; i < N_STAKERS; ++i) _stakers[i] = address(uint160(0x57A4E000 + i));
    }

    function stakerAt(uint256 i) external view returns (address) {
        return _stakers[i];
    }

    /// @notice Stakes 1 token unit .. 100,000 tokens (log-uniform).
    function stake(uint256 seed, uint256 unitsSeed) external {
        _stake(seed, boundLog(unitsSeed, 1, 1e23 / scale));
    }

    /// @notice Stakes exactly `units` (the test's setUp backs the fund with a first stake).
    function stakeExactly(uint256 seed, uint256 units) external {
        _stake(seed, units);
    }

    function _stake(uint256 seed, uint256 units) internal {
        address s = _stakers[seed % N_STAKERS];
        usdc.mint(s, units);
        uint256 expectedShares = fund.previewDeposit(units);
        vm.prank(s);
        usdc.approve(address(fund), units);
        vm.prank(s);
        try fund.deposit(units, s) returns (uint256 shares) {
            stakes++;
            if (shares != expectedShares) redeemMismatches++;
            traders.recordStake(units, 0);
        } catch (bytes memory err) {
            // A deposit too small to mint a single share.
            _onRevert(err, IInsuranceFund.ZeroShares.selector, expectedShares == 0);
        }
        traders.syncK();
    }

    /// @notice A staker without an open request asks to redeem 1 .. all of its shares.
    function requestRedeem(uint256 seed, uint256 sharesSeed) external {
        (address s, bool found) = _find(seed, false);
        if (!found) return;
        uint256 shares = bound(sharesSeed, 1, fund.balanceOf(s));
        vm.prank(s);
        try fund.requestRedeem(shares) {
            requests++;
        } catch (bytes memory err) {
            _onRevert(err, bytes4(0), false);
        }
        traders.syncK();
    }

    /// @notice A staker with an open request completes it, half the time after waiting out the cooldown.
    function completeRedeem(uint256 seed, uint256 waitSeed) external {
        (address s, bool found) = _find(seed, true);
        if (!found) return;
        IInsuranceFund.RedeemRequest memory r = fund.redeemRequest(s);
        if (waitSeed % 2 == 0 && block.timestamp < r.unlockAt) {
            uint256 t = uint256(r.unlockAt) + bound(waitSeed >> 1, 0, 1 hours);
            vm.roll(block.number + (t - block.timestamp) / 12 + 1);
            vm.warp(t);
        }
        bool early = block.timestamp < r.unlockAt;
        // A request lapses its window after the cooldown (the time handler can jump past it).
        bool lapsed = block.timestamp > r.expiresAt;
        uint256 expected = Math.min(fund.previewRedeem(r.shares), r.assetsAtRequest);
        uint256 before = usdc.balanceOf(s);
        vm.prank(s);
        try fund.completeRedeem(s) returns (uint256 assets) {
            completions++;
            if (early || lapsed || assets != expected || usdc.balanceOf(s) != before + assets) redeemMismatches++;
            traders.recordStake(0, assets);
        } catch (bytes memory err) {
            if (lapsed) _onRevert(err, IInsuranceFund.RedeemRequestExpired.selector, true);
            else _onRevert(err, IInsuranceFund.CooldownNotElapsed.selector, early);
        }
        traders.syncK();
    }

    function cancelRedeem(uint256 seed) external {
        (address s, bool found) = _find(seed, true);
        if (!found) return;
        vm.prank(s);
        try fund.cancelRedeem() {
            cancels++;
        } catch (bytes memory err) {
            _onRevert(err, bytes4(0), false);
        }
        traders.syncK();
    }

    /// @dev The staker at `seed` or the next one with (`withRequest`) or without an open request and
    /// with shares to request.
    function _find(uint256 seed, bool withRequest) internal view returns (address s, bool found) {
        for (uint256 i; i < N_STAKERS; ++i) {
            s = _stakers[(seed + i) % N_STAKERS];
            bool open = fund.redeemRequest(s).shares != 0;
            if (withRequest ? open : (!open && fund.balanceOf(s) != 0)) return (s, true);
        }
    }

    function _onRevert(bytes memory err, bytes4 allowed, bool entitled) internal {
        bytes4 sel = selectorOf(err);
        if (entitled && sel == allowed) {
            expectedReverts++;
        } else {
            _unexpectedRevert(sel);
        }
    }
}
