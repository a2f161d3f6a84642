// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vault} from "../../contracts/Vault.sol";
import {IVault} from "../../contracts/interfaces/IVault.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice {IVault-advanceToPool}: the insurance fund fills what a market's pool holds below its
/// locked margin, at most the amount asked and what the fund holds, and books it as its receivable
/// (ahead of every claim). This contract plays the ClearingHouse and the insurance fund, so each
/// balance is set by hand: a trader's 1,000 moved into the market's pool as locked margin, then the
/// locked margin raised by 300 with no money (what a funding debt paid out of an unpayable profit
/// did before the fix): pool 1,000, locked 1,300, a gap of 300. Amounts in 6-decimal tokens, ledger
/// amounts in 18 decimals.
contract VaultAdvanceTest is TestBase {
    address internal constant MARKET = address(0xA11);
    address internal constant TRADER = address(0xB0B);

    MockERC20 internal usdc;
    Vault internal vault;

    function setUp() public {
        usdc = new MockERC20("USD Coin", "USDC", 6);
        vault = new Vault(usdc, address(this));
        vault.setInsuranceFund(address(this));
        usdc.mint(TRADER, 1_000e6);
        vm.startPrank(TRADER);
        usdc.approve(address(vault), 1_000e6);
        vault.deposit(1_000e6);
        vm.stopPrank();
        vault.settle(TRADER, MARKET, -1_000e18, 0, 1_000e18, 0);
        vault.settle(address(0), MARKET, 0, 0, 300e18, 0);
    }

    function _fundWith(uint256 amountUsdc) internal {
        usdc.mint(address(this), amountUsdc);
        usdc.approve(address(vault), amountUsdc);
        vault.depositInsurance(amountUsdc);
    }

    function test_advanceFillsTheGap() public {
        _fundWith(500e6);
        vm.recordLogs();
        uint256 advanced = vault.advanceToPool(MARKET, 1_000e18);
        assertEq(advanced, 300e18, "advance = min(gap 300, asked 1,000, fund 500)");
        IVault.MarketBalances memory m = vault.marketBalances(MARKET);
        assertEq(m.pool, 1_300e18, "pool = locked margin");
        assertEq(m.lockedMargin, 1_300e18, "locked margin unchanged");
        assertEq(m.fundReceivable, 300e18, "the advance is the fund's receivable");
        assertEq(m.claims, 0, "no claim");
        (uint256 pools, uint256 fund) = vault.getPoolBalances();
        assertEq(pools, 1_300e18, "margin pools");
        assertEq(fund, 200e18, "fund = 500 - 300");
        assertEq(vault.profitAvailable(MARKET), 0, "nothing to pay profit with");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2, "FundAdvanced then FundReceivableBooked");
        assertTrue(logs[0].topics[0] == IVault.FundAdvanced.selector, "first event");
        assertEq(abi.decode(logs[0].data, (uint256)), 300e18, "FundAdvanced amount");
        assertTrue(logs[1].topics[0] == IVault.FundReceivableBooked.selector, "second event");
        (uint256 amount, uint256 total) = abi.decode(logs[1].data, (uint256, uint256));
        assertEq(amount, 300e18, "booked");
        assertEq(total, 300e18, "total receivable");
    }

    function test_advanceCappedByTheAmountAsked() public {
        _fundWith(500e6);
        assertEq(vault.advanceToPool(MARKET, 120e18), 120e18, "advance = the 120 asked");
        IVault.MarketBalances memory m = vault.marketBalances(MARKET);
        assertEq(m.lockedMargin - m.pool, 180e18, "gap left = 300 - 120");
        assertEq(m.fundReceivable, 120e18, "receivable");
    }

    function test_advanceCappedByTheFund() public {
        _fundWith(50e6);
        assertEq(vault.advanceToPool(MARKET, 1_000e18), 50e18, "advance = the 50 the fund holds");
        (, uint256 fund) = vault.getPoolBalances();
        assertEq(fund, 0, "fund emptied");
        // Nothing more to give: no event, no receivable.
        assertEq(vault.advanceToPool(MARKET, 1_000e18), 0, "empty fund advances nothing");
        assertEq(vault.marketBalances(MARKET).fundReceivable, 50e18, "receivable");
    }

    function test_noGapNoAdvance() public {
        _fundWith(500e6);
        vault.settle(address(0), MARKET, 0, 0, -300e18, 0);
        vm.recordLogs();
        assertEq(vault.advanceToPool(MARKET, 1_000e18), 0, "pool covers locked: nothing");
        assertEq(vm.getRecordedLogs().length, 0, "no event");
        (, uint256 fund) = vault.getPoolBalances();
        assertEq(fund, 500e18, "fund untouched");
    }

    /// @notice The advance is repaid from the market's next surplus before any claim.
    function test_advanceRepaidAheadOfClaims() public {
        _fundWith(500e6);
        vault.advanceToPool(MARKET, 1_000e18);
        // A trader's claim of 100 queued, then a loser's 250 realised into the pool (locked falls).
        vault.settle(TRADER, MARKET, 0, 0, 0, 100e18);
        vault.settle(address(0), MARKET, 0, 0, -250e18, 0);
        // The pool holds 250 beyond its locked margin: 250 of the 300 receivable, nothing to the claim.
        assertEq(vault.payClaims(MARKET, 10), 0, "claim not paid before the fund");
        IVault.MarketBalances memory m = vault.marketBalances(MARKET);
        assertEq(m.fundReceivable, 50e18, "receivable left");
        assertEq(m.claims, 100e18, "claim still queued");
        (, uint256 fund) = vault.getPoolBalances();
        assertEq(fund, 450e18, "fund = 200 + 250 repaid");
    }

    function test_onlyTheClearingHouse() public {
        vm.prank(TRADER);
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.OnlyClearingHouse.selector, TRADER));
        vault.advanceToPool(MARKET, 1);
    }
}
