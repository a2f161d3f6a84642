// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IVault} from "../../../../contracts/interfaces/IVault.sol";
import {Vm} from "../../utils/Vm.sol";
import {IClaimsHook} from "./HandlerBase.sol";
import {MarketActor} from "./MarketActor.sol";
import {TraderHandler} from "./TraderHandler.sol";

/// @notice Anyone (an outsider's address) paying a market's queued claims with the permissionless
/// `Vault.payClaims`, mid-run (the fuzz target) and at the end of the final settlement. Every call is
/// checked against the spec: the queue is paid first in, first out from its head, each entry as far
/// as what the pool holds beyond its locked margin allows (a partly paid entry stays at the head),
/// up to `maxClaims` entries; the pool and the claims shrink by what was paid, each payee's free
/// collateral grows by it, the locked margin does not move. The ClaimPaid events go to the market's
/// ledger (the TraderHandler), anything off the spec to `paymentMismatches`.
contract ClaimsHandler is MarketActor, IClaimsHook {
    address public constant PAYER = address(0xC1A1);

    uint256 public calls;
    uint256 public skips;
    uint256 public payments;
    /// @dev Calls that paid something, and the total paid.
    uint256 public nonZeroPayments;
    uint256 public totalPaid;
    uint256 public paymentMismatches;

    constructor(TraderHandler traders_) MarketActor(traders_, PAYER, "claims payer") {}

    /// @notice Pays the market's queue: 1..4 entries, or the whole queue half the time; skipped when
    /// nothing is queued.
    function payClaims(uint256 seed) external {
        calls++;
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        if (head == tail) {
            skips++;
            return;
        }
        _pay(seed % 2 == 0 ? tail - head : bound(seed >> 1, 1, 4));
        traders.syncK();
    }

    /// @inheritdoc IClaimsHook
    function payAllClaims() external {
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        if (head != tail) _pay(tail - head);
    }

    /// @dev The spec's payment of one queue entry.
    struct Expected {
        address payee;
        uint256 amount;
        uint256 freeBefore;
    }

    /// @dev One `payClaims(amm, maxClaims)`, checked.
    function _pay(uint256 maxClaims) internal {
        IVault.MarketBalances memory before = vault.marketBalances(address(amm));
        (Expected[] memory e, uint256 n, uint256 expectedPaid) = _expected(before, maxClaims);
        vm.recordLogs();
        vm.prank(PAYER);
        try vault.payClaims(address(amm), maxClaims) returns (uint256 paid) {
            payments++;
            if (paid != 0) nonZeroPayments++;
            totalPaid += paid;
            bool bad = paid != expectedPaid || _readPaid(e, n) != n;
            IVault.MarketBalances memory afterPay = vault.marketBalances(address(amm));
            uint256 spare = before.pool > before.lockedMargin ? before.pool - before.lockedMargin : 0;
            uint256 toFund = Math.min(before.fundReceivable, spare);
            bad = bad || afterPay.pool != before.pool - paid - toFund || afterPay.claims != before.claims - paid;
            bad = bad || afterPay.fundReceivable != before.fundReceivable - toFund;
            bad = bad || afterPay.lockedMargin != before.lockedMargin;
            // A payee of several entries gets them all: compare its free collateral with their sum.
            for (uint256 k; k < n && !bad; ++k) {
                uint256 sum;
                for (uint256 j; j < n; ++j) if (e[j].payee == e[k].payee) sum += e[j].amount;
                bad = vault.freeCollateral(e[k].payee) != e[k].freeBefore + sum;
            }
            if (bad) paymentMismatches++;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            // payClaims with maxClaims >= 1 never reverts.
            _unexpectedRevert(_selector(err));
        }
    }

    /// @dev The spec's payments, entry by entry from the head, with the pool beyond the locked margin.
    function _expected(
        IVault.MarketBalances memory before,
        uint256 maxClaims
    ) internal view returns (Expected[] memory e, uint256 n, uint256 total) {
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        uint256 end = Math.min(tail, head + maxClaims);
        uint256 spare = before.pool > before.lockedMargin ? before.pool - before.lockedMargin : 0;
        // The fund's receivable is paid first.
        spare -= Math.min(before.fundReceivable, spare);
        e = new Expected[](end - head);
        for (uint256 i = head; i < end && spare != 0; ++i) {
            (address payee, uint256 amount) = vault.claimAt(address(amm), i);
            uint256 pay = Math.min(amount, spare);
            spare -= pay;
            total += pay;
            e[n] = Expected(payee, pay, vault.freeCollateral(payee));
            n++;
        }
    }

    /// @dev Sends the call's Vault logs to the ledger; returns how many ClaimPaid events matched the
    /// expected payments in order (the k-th event is the k-th entry's payment).
    function _readPaid(Expected[] memory e, uint256 n) internal returns (uint256 seen) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(vault)) continue;
            traders.recordVaultLog(logs[i].topics, logs[i].data);
            if (logs[i].topics[0] != IVault.ClaimPaid.selector) continue;
            (uint256 amount, ) = abi.decode(logs[i].data, (uint256, uint256));
            address payee = address(uint160(uint256(logs[i].topics[2])));
            if (seen < n && payee == e[seen].payee && amount == e[seen].amount) seen++;
            else paymentMismatches++;
        }
    }
}
