// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IVault} from "./interfaces/IVault.sol";

/// @title Vault
/// @notice Holds the collateral token and the ledger of who owns it. See {IVault}.
contract Vault is IVault, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    // ---------------------------------------------------------------- immutables

    /// @inheritdoc IVault
    address public immutable clearingHouse;
    IERC20 private immutable _token;
    /// @dev 10^(18 - token decimals): token units x scale = 18-decimal units, exactly.
    uint256 private immutable _scale;

    // ---------------------------------------------------------------- storage

    /// @dev A market's pool and its locked margin, packed so a trade reads and writes one slot. The
    /// locked margin is signed: net of pending funding it goes below zero when the positions'
    /// funding debts exceed all their margins, and keeping that (instead of flooring it) lets the
    /// liquidation that settles those debts bring it back exactly. Views and payments use it
    /// floored at zero ({_locked}). `flags`: {OWES} is clear only when the market's claim queue
    /// owes nothing (no queued claim, no fund receivable), so a profit's check ({profitAvailable})
    /// reads the queue's slot only when it may hold something; {BOOKED} is set once the market is
    /// in {_bookedMarkets}; {CLOSED} once it is settled. (120 bits hold 1.3e18 whole tokens at 18 decimals.)
    struct MarketAccount {
        uint128 pool;
        int120 lockedMargin;
        uint8 flags;
    }

    /// @dev A market's claim queue: what its pool owes ahead of any new profit (the queued claims
    /// and the fund's receivable, summed so a profit's check reads one slot) and its unpaid range
    /// [head, tail).
    struct ClaimQueue {
        uint128 owed;
        uint64 head;
        uint64 tail;
    }

    /// @dev One queued claim: who is owed and how much is still unpaid (one slot).
    struct QueuedClaim {
        address trader;
        uint96 amount;
    }

    /// @dev {MarketAccount}'s flag: the market's claim queue may owe something.
    uint8 private constant OWES = 1;
    /// @dev {MarketAccount}'s flag: the market is in {_bookedMarkets}.
    uint8 private constant BOOKED = 2;
    /// @dev {MarketAccount}'s flag: the market is settled and takes no more margin ({closeMarket}).
    uint8 private constant CLOSED = 4;

    /// @dev The insurance account, alone in its slot: only a flow to or from the fund reads and
    /// writes it, so a margin move, or a trade without a fund flow, leaves it alone.
    uint256 private _insuranceAccount;
    mapping(address trader => uint256) private _freeCollateral;
    /// @inheritdoc IVault
    address public insuranceFund;
    mapping(address market => MarketAccount) private _marketAccounts;
    mapping(address market => ClaimQueue) private _claimQueues;
    mapping(address market => mapping(uint256 index => QueuedClaim)) private _queuedClaims;
    mapping(address market => mapping(address trader => uint256)) private _claimOf;
    /// @dev What the insurance fund was owed by a market's pool and could not take (see {settle}).
    mapping(address market => uint256) private _fundReceivables;
    /// @dev Every market the Vault has settled for, in the order of its first settlement (a pool
    /// only ever holds money after one): {getPoolBalances} sums their pools, so no running total
    /// has to be written on every trade.
    address[] private _bookedMarkets;

    // ---------------------------------------------------------------- constructor

    /// @param token The collateral token, with 6 to 18 decimals.
    /// @param clearingHouse_ The only account allowed to move value between ledger accounts. An
    /// immutable, so the check on every trade reads no storage.
    constructor(IERC20Metadata token, address clearingHouse_) {
        if (address(token) == address(0) || clearingHouse_ == address(0)) revert ZeroAddress();
        clearingHouse = clearingHouse_;
        uint8 decimals = token.decimals();
        if (decimals < 6 || decimals > 18) revert UnsupportedDecimals(decimals);
        _token = IERC20(address(token));
        _scale = 10 ** (18 - decimals);
    }

    modifier onlyClearingHouse() {
        if (msg.sender != clearingHouse) revert OnlyClearingHouse(msg.sender);
        _;
    }

    modifier onlyInsuranceFund() {
        if (msg.sender != insuranceFund || msg.sender == address(0)) revert OnlyInsuranceFund(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- traders

    /// @inheritdoc IVault
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IVault
    function depositFor(address trader, uint256 amount) external nonReentrant {
        if (trader == address(0)) revert ZeroAddress();
        _deposit(trader, amount);
    }

    /// @inheritdoc IVault
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 internalAmount = amount * _scale;
        uint256 available = _freeCollateral[msg.sender];
        if (internalAmount > available) revert InsufficientFreeCollateral(msg.sender, available, internalAmount);
        unchecked {
            // Cannot underflow: checked just above.
            _freeCollateral[msg.sender] = available - internalAmount;
        }
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function _deposit(address trader, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - balanceBefore;
        // A token that takes a fee or rebases would leave the ledger claiming more than is held.
        if (received != amount) revert UnsupportedTransferAmount(amount, received);
        _freeCollateral[trader] += amount * _scale;
        emit Deposited(msg.sender, trader, amount);
    }

    // ---------------------------------------------------------------- clearing house

    /// @inheritdoc IVault
    function settle(
        address trader,
        address market,
        int256 freeCollateralDelta,
        int256 insuranceFundDelta,
        int256 lockedMarginDelta,
        uint256 claim
    ) public onlyClearingHouse {
        MarketAccount memory account = _marketAccounts[market];
        uint256 pool = account.pool;
        uint8 flags = account.flags;
        if (flags & BOOKED == 0) flags = _book(market, flags);
        if (freeCollateralDelta < 0) pool += _debit(trader, uint256(-freeCollateralDelta));
        if (insuranceFundDelta < 0) pool += _drawFund(uint256(-insuranceFundDelta));
        if (freeCollateralDelta > 0) (pool, claim) = _pay(trader, pool, uint256(freeCollateralDelta), claim);
        int256 locked = int256(account.lockedMargin) + lockedMarginDelta;
        if (claim != 0) flags |= OWES;
        if (insuranceFundDelta > 0) {
            bool booked;
            (pool, booked) = _takeForFund(market, pool, locked, uint256(insuranceFundDelta));
            if (booked) flags |= OWES;
        }
        _writeAccount(market, pool.toUint128(), locked.toInt120(), flags);
        if (claim != 0) _queueClaim(market, trader, claim);
    }

    /// @inheritdoc IVault
    function moveMargin(address trader, address market, int256 amount) external onlyClearingHouse {
        if (amount == 0) revert ZeroAmount();
        MarketAccount memory account = _marketAccounts[market];
        uint256 pool = account.pool;
        uint8 flags = account.flags;
        if (flags & CLOSED != 0) revert MarketIsSettled(market);
        if (flags & BOOKED == 0) flags = _book(market, flags);
        uint256 claim;
        if (amount > 0) {
            pool += _debit(trader, uint256(amount));
        } else {
            (pool, claim) = _pay(trader, pool, uint256(-amount), 0);
            if (claim != 0) flags |= OWES;
        }
        _writeAccount(market, pool.toUint128(), (int256(account.lockedMargin) + amount).toInt120(), flags);
        if (claim != 0) _queueClaim(market, trader, claim);
    }

    /// @inheritdoc IVault
    function closeMarket(address market) external onlyClearingHouse {
        MarketAccount memory account = _marketAccounts[market];
        uint8 flags = account.flags;
        if (flags & CLOSED != 0) revert MarketIsSettled(market);
        if (flags & BOOKED == 0) flags = _book(market, flags);
        _writeAccount(market, account.pool, account.lockedMargin, flags | CLOSED);
        emit MarketClosed(market);
    }

    /// @inheritdoc IVault
    function settleLiquidation(
        address market,
        address liquidator,
        uint256 reward,
        uint256 rewardClaim,
        int256 insuranceFundDelta,
        int256 lockedMarginDelta,
        address trader,
        uint256 payout,
        uint256 claim
    ) external onlyClearingHouse {
        if (liquidator == address(0) || trader == address(0)) revert ZeroAddress();
        settle(liquidator, market, reward.toInt256(), insuranceFundDelta, lockedMarginDelta, rewardClaim);
        if (payout != 0 || claim != 0) _payOut(market, trader, payout, claim);
    }

    /// @dev {settle} for `trader` in `market` with only a payout and a claim: the pool pays `payout`
    /// as far as it holds, the rest joins `claim`, which is queued.
    function _payOut(address market, address trader, uint256 payout, uint256 claim) private {
        MarketAccount memory account = _marketAccounts[market];
        uint256 pool = account.pool;
        uint8 flags = account.flags;
        if (payout != 0) (pool, claim) = _pay(trader, pool, payout, claim);
        if (claim != 0) flags |= OWES;
        _writeAccount(market, uint128(pool), account.lockedMargin, flags);
        if (claim != 0) _queueClaim(market, trader, claim);
    }

    /// @inheritdoc IVault
    function advanceToPool(address market, uint256 maxAmount) external onlyClearingHouse returns (uint256 advanced) {
        MarketAccount memory account = _marketAccounts[market];
        uint256 locked = _locked(account);
        if (account.pool >= locked) return 0;
        uint256 fund = _insuranceAccount;
        advanced = Math.min(Math.min(locked - account.pool, maxAmount), fund);
        if (advanced == 0) return 0;
        // The advance is booked as the fund's receivable just below: the queue owes from now on.
        _writeAccount(market, uint128(account.pool + advanced), account.lockedMargin, account.flags | OWES);
        unchecked {
            // advanced <= the fund.
            _insuranceAccount = fund - advanced;
        }
        emit FundAdvanced(market, advanced);
        _bookReceivable(market, advanced);
    }

    /// @dev Adds `market` to {_bookedMarkets}, once (its first settlement); returns its flags with {BOOKED}.
    function _book(address market, uint8 flags) private returns (uint8) {
        _bookedMarkets.push(market);
        return flags | BOOKED;
    }

    /// @dev Takes `amount` out of `trader`'s free collateral; reverts if it holds less. Returns `amount`.
    function _debit(address trader, uint256 amount) private returns (uint256) {
        uint256 available = _freeCollateral[trader];
        if (amount > available) revert InsufficientFreeCollateral(trader, available, amount);
        unchecked {
            // Cannot underflow: checked just above.
            _freeCollateral[trader] = available - amount;
        }
        return amount;
    }

    /// @dev Takes `amount` out of the insurance account; reverts if it holds less. Returns `amount`.
    function _drawFund(uint256 amount) private returns (uint256) {
        uint256 fund = _insuranceAccount;
        if (amount > fund) revert InsufficientInsuranceFund(fund, amount);
        unchecked {
            // Cannot underflow: checked just above.
            _insuranceAccount = fund - amount;
        }
        return amount;
    }

    /// @dev Pays `amount` to `trader`'s free collateral out of `pool` as far as it holds; what it
    /// cannot hold is added to `claim`. Returns the pool and the claim after it.
    function _pay(address trader, uint256 pool, uint256 amount, uint256 claim) private returns (uint256, uint256) {
        uint256 paid = Math.min(amount, pool);
        _freeCollateral[trader] += paid;
        unchecked {
            // paid <= pool and paid <= amount. What the pool cannot hold waits as a claim.
            return (pool - paid, claim + (amount - paid));
        }
    }

    /// @dev The fund takes `owed` out of `market`'s `pool` only as far as the pool holds beyond
    /// `locked`, the locked margin after the call: the rest is its receivable, so its take never
    /// comes out of a margin that backs a position. The insurance account is written only when it
    /// takes something. Returns the pool after it, and whether it booked a receivable.
    function _takeForFund(
        address market,
        uint256 pool,
        int256 locked,
        uint256 owed
    ) private returns (uint256, bool booked) {
        uint256 lockedAfter = locked > 0 ? uint256(locked) : 0;
        uint256 take = Math.min(owed, pool > lockedAfter ? pool - lockedAfter : 0);
        booked = take < owed;
        if (booked) _bookReceivable(market, owed - take);
        if (take != 0) _insuranceAccount += take;
        unchecked {
            // take <= pool.
            return (pool - take, booked);
        }
    }

    /// @dev Adds `amount` to what `market`'s pool owes the insurance fund, ahead of its claims.
    function _bookReceivable(address market, uint256 amount) private {
        uint256 total = _fundReceivables[market] + amount;
        _fundReceivables[market] = total;
        ClaimQueue memory queue = _claimQueues[market];
        _claimQueues[market] = ClaimQueue((queue.owed + amount).toUint128(), queue.head, queue.tail);
        emit FundReceivableBooked(market, amount, total);
    }

    /// @dev Writes `market`'s account with one store: the compiler's copy of a three-field struct
    /// reads the slot first. The layout is {MarketAccount}'s: pool in the low 128 bits, the locked
    /// margin's 120 bits (two's complement) above it, the flags in the top byte.
    function _writeAccount(address market, uint128 pool, int120 lockedMargin, uint8 flags) private {
        MarketAccount storage account = _marketAccounts[market];
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let locked := and(lockedMargin, 0xffffffffffffffffffffffffffffff)
            sstore(account.slot, or(or(pool, shl(128, locked)), shl(248, flags)))
        }
    }

    /// @dev A market's locked margin floored at zero: what its open positions' margins hold back.
    function _locked(MarketAccount memory account) private pure returns (uint256) {
        return account.lockedMargin > 0 ? uint256(int256(account.lockedMargin)) : 0;
    }

    /// @dev Appends `amount` owed to `trader` to `market`'s claim queue.
    function _queueClaim(address market, address trader, uint256 amount) private {
        ClaimQueue memory queue = _claimQueues[market];
        uint256 index = queue.tail;
        _queuedClaims[market][index] = QueuedClaim(trader, amount.toUint96());
        _claimQueues[market] = ClaimQueue((queue.owed + amount).toUint128(), queue.head, uint64(index + 1));
        uint256 total = _claimOf[market][trader] + amount;
        _claimOf[market][trader] = total;
        emit ClaimQueued(market, trader, index, amount, total);
    }

    /// @inheritdoc IVault
    function payClaims(address market, uint256 maxClaims) external nonReentrant returns (uint256 paid) {
        if (maxClaims == 0) revert ZeroAmount();
        MarketAccount memory account = _marketAccounts[market];
        ClaimQueue memory queue = _claimQueues[market];
        uint256 spare = account.pool > _locked(account) ? account.pool - _locked(account) : 0;
        // The fund's receivable ranks ahead of every queued claim.
        uint256 toFund = _payReceivable(market, spare);
        spare -= toFund;
        uint256 head = queue.head;
        uint256 end = Math.min(queue.tail, head + maxClaims);
        while (head < end && spare != 0) {
            QueuedClaim memory entry = _queuedClaims[market][head];
            uint256 amount = Math.min(entry.amount, spare);
            spare -= amount;
            paid += amount;
            _freeCollateral[entry.trader] += amount;
            uint256 remaining = _claimOf[market][entry.trader] - amount;
            _claimOf[market][entry.trader] = remaining;
            emit ClaimPaid(market, entry.trader, amount, remaining);
            if (amount < entry.amount) {
                // Partly paid: it stays at the head for the next payment.
                _queuedClaims[market][head].amount = uint96(entry.amount - amount);
                break;
            }
            delete _queuedClaims[market][head];
            ++head;
        }
        if (paid == 0 && toFund == 0 && head == queue.head) return 0;
        uint256 out = paid + toFund;
        uint256 owedAfter = queue.owed - out;
        _claimQueues[market] = ClaimQueue(uint128(owedAfter), uint64(head), queue.tail);
        // The queue owes nothing any more once it is paid off: {OWES} follows it.
        uint8 flags = owedAfter != 0 ? account.flags | OWES : account.flags & ~OWES;
        _writeAccount(market, uint128(account.pool - out), account.lockedMargin, flags);
        if (toFund != 0) _insuranceAccount += toFund;
    }

    /// @dev Pays `market`'s receivable to the fund as far as `spare` goes (the ledger's totals are
    /// the caller's); returns what it paid.
    function _payReceivable(address market, uint256 spare) private returns (uint256 toFund) {
        uint256 receivable = _fundReceivables[market];
        toFund = Math.min(receivable, spare);
        if (toFund == 0) return 0;
        unchecked {
            // toFund <= receivable.
            receivable -= toFund;
        }
        _fundReceivables[market] = receivable;
        emit FundReceivablePaid(market, toFund, receivable);
    }

    // ---------------------------------------------------------------- insurance fund

    /// @inheritdoc IVault
    function setInsuranceFund(address fund) external onlyClearingHouse {
        if (fund == address(0)) revert ZeroAddress();
        if (insuranceFund != address(0)) revert InsuranceFundAlreadySet(insuranceFund);
        insuranceFund = fund;
        emit InsuranceFundSet(fund);
    }

    /// @inheritdoc IVault
    function depositInsurance(uint256 amount) external nonReentrant onlyInsuranceFund {
        if (amount == 0) revert ZeroAmount();
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert UnsupportedTransferAmount(amount, received);
        _insuranceAccount += amount * _scale;
        emit InsuranceDeposited(amount);
    }

    /// @inheritdoc IVault
    function withdrawInsurance(address to, uint256 amount) external nonReentrant onlyInsuranceFund {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        _drawFund(amount * _scale);
        _token.safeTransfer(to, amount);
        emit InsuranceWithdrawn(to, amount);
    }

    /// @inheritdoc IVault
    function insuranceFundBalance() external view returns (uint256) {
        return _insuranceAccount / _scale;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IVault
    function balanceOf(address trader) external view returns (uint256) {
        return _freeCollateral[trader] / _scale;
    }

    /// @inheritdoc IVault
    function freeCollateral(address trader) external view returns (uint256) {
        return _freeCollateral[trader];
    }

    /// @inheritdoc IVault
    function getPoolBalances() external view returns (uint256 marginPool, uint256 fund) {
        uint256 length = _bookedMarkets.length;
        for (uint256 i; i < length; ++i) {
            marginPool += _marketAccounts[_bookedMarkets[i]].pool;
        }
        return (marginPool, _insuranceAccount);
    }

    /// @inheritdoc IVault
    function insuranceAccount() external view returns (uint256) {
        return _insuranceAccount;
    }

    /// @inheritdoc IVault
    function marketBalances(address market) external view returns (MarketBalances memory) {
        MarketAccount memory account = _marketAccounts[market];
        uint256 receivable = _fundReceivables[market];
        return MarketBalances(account.pool, _locked(account), _claimQueues[market].owed - receivable, receivable);
    }

    /// @inheritdoc IVault
    function profitAvailable(address market) external view returns (uint256) {
        MarketAccount memory account = _marketAccounts[market];
        uint256 reserved = _locked(account);
        if (account.flags & OWES != 0) reserved += _claimQueues[market].owed;
        return account.pool > reserved ? account.pool - reserved : 0;
    }

    /// @inheritdoc IVault
    function claimOf(address market, address trader) external view returns (uint256) {
        return _claimOf[market][trader];
    }

    /// @inheritdoc IVault
    function claimQueueBounds(address market) external view returns (uint256 head, uint256 tail) {
        ClaimQueue memory queue = _claimQueues[market];
        return (queue.head, queue.tail);
    }

    /// @inheritdoc IVault
    function claimAt(address market, uint256 index) external view returns (address trader, uint256 amount) {
        uint256 length = _claimQueues[market].tail;
        if (index >= length) revert ClaimIndexOutOfRange(market, index, length);
        QueuedClaim memory entry = _queuedClaims[market][index];
        return (entry.trader, entry.amount);
    }

    /// @inheritdoc IVault
    function collateralToken() external view returns (address) {
        return address(_token);
    }
}
