// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Fixed findings (invariant/SPEC.md, "a fee the margin cannot pay was paid out of an
/// unpayable gain" and "the fund's take was capped at the pool"): a close's fee beyond the
/// position's own money (its margin and what profitAvailable backs) comes out of the trader's claim
/// and waits as the fund's receivable, paid ahead of the claims; the fund never takes a margin
/// that backs another position, and loses nothing.
///
/// Worked out by hand on x*y=k (quote 1,000,000, base 10,000, reserves solved for round up, no
/// index so no funding): Alice opens 10,000 long at 50x (margin 200, IMR 2%), Bob 10,000 long at
/// 10x (margin 1,000), both without fee. The owner sets a 3% fee. Alice's close fetches
/// Q = 10,198.000392079984316697: profit R = 198.000392079984316697, which the pool (the two margins
/// only) cannot pay; fee ceil(3% Q) = 305.940011762399529501, more than her margin. What she is
/// owed, 200 + R - fee = 92.060380317584787196, is all her claim (below R). The fund takes 200, what
/// the pool holds beyond Bob's locked 1,000, and is owed 105.940011762399529501 (before the fix it
/// took the whole fee, leaving the pool 105.94 below Bob's margin). Bob's close realises
/// -198.000392079984316886 with a fee of 294.059988237600470494 (payout 507.939619682415212620); the
/// pool then holds 198.000392079984316886, from which payClaims pays the fund's receivable first and
/// then Alice's claim, leaving 189 wei of rounding. The fund ends with both fees exactly.
contract CloseFeeBeyondOwnMoneyIsTheFundsReceivableTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    uint256 internal constant FEE_ALICE = 305_940011762399529501;
    uint256 internal constant CLAIM_ALICE = 92_060380317584787196;
    uint256 internal constant RECEIVABLE = 105_940011762399529501;
    uint256 internal constant FEE_BOB = 294_059988237600470494;
    uint256 internal constant PAYOUT_BOB = 507_939619682415212620;

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(ALICE, 20_000e6);
        fund(BOB, 20_000e6);
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(0.02e18, 0.01e18, 0));
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 200e18, 50e18, 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000e18, 10e18, 0, type(uint256).max);
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(0.02e18, 0.01e18, 0.03e18));
    }

    function test_fixed_closeFeeBeyondOwnMoneyWaitsAsTheFundsReceivable() public {
        assertEq(vault.profitAvailable(address(amm)), 0, "the pool holds only the margins");
        vm.recordLogs();
        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        _expectVaultEvent(IVault.FundReceivableBooked.selector, RECEIVABLE, RECEIVABLE);

        assertEq(FEE_ALICE, 200e18 + RECEIVABLE, "the fee is her margin + the receivable");
        assertEq(vault.claimOf(address(amm), ALICE), CLAIM_ALICE, "her claim: margin + R - fee");
        assertEq(vault.freeCollateral(ALICE), 20_000e18 - 200e18, "nothing paid out now");
        (, uint256 fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, 200e18, "the fund took only her margin");
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.pool, 1_000e18, "the pool still backs Bob's margin");
        assertEq(m.lockedMargin, 1_000e18, "Bob's margin");
        assertEq(m.fundReceivable, RECEIVABLE, "the fund's receivable");
        assertEq(m.claims, CLAIM_ALICE, "her claim");
        // Nothing beyond the locked margin: nothing to pay yet, neither the fund nor Alice.
        assertEq(vault.payClaims(address(amm), 10), 0, "nothing to pay");

        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        assertEq(vault.freeCollateral(BOB), 20_000e18 - 1_000e18 + PAYOUT_BOB, "Bob's payout");
        (, fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, 200e18 + FEE_BOB, "Bob's fee taken in full");

        vm.recordLogs();
        assertEq(vault.payClaims(address(amm), 10), CLAIM_ALICE, "Alice's claim paid after the fund");
        _expectVaultEvent(IVault.FundReceivablePaid.selector, RECEIVABLE, 0);
        (, fundBalance) = vault.getPoolBalances();
        assertEq(fundBalance, FEE_ALICE + FEE_BOB, "the fund has both fees");
        assertEq(vault.freeCollateral(ALICE), 20_000e18 - 200e18 + CLAIM_ALICE, "Alice paid");
        m = vault.marketBalances(address(amm));
        assertEq(m.fundReceivable, 0, "receivable paid");
        assertEq(m.claims, 0, "claims paid");
        assertEq(m.pool, 189, "rounding dust");
    }

    /// @dev Exactly one Vault event `selector` for this market since recordLogs, with these two values.
    function _expectVaultEvent(bytes32 selector, uint256 amount, uint256 total) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(vault) || logs[i].topics[0] != selector) continue;
            assertEq(address(uint160(uint256(logs[i].topics[1]))), address(amm), "market");
            (uint256 a, uint256 t) = abi.decode(logs[i].data, (uint256, uint256));
            assertEq(a, amount, "event amount");
            assertEq(t, total, "event total");
            seen++;
        }
        assertEq(seen, 1, "one event");
    }
}
