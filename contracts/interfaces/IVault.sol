// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IVaultErrors
/// @notice The errors the Vault raises; {IClearingHouse} inherits them, as its calls can surface them.
interface IVaultErrors is ICommonErrors {
    /// @notice Caller is not the insurance fund contract (or none is set).
    error OnlyInsuranceFund(address caller);
    /// @notice The insurance fund contract is already set.
    error InsuranceFundAlreadySet(address insuranceFund);
    /// @notice The insurance account (18 decimals) cannot pay what the action needs.
    error InsufficientInsuranceFund(uint256 available, uint256 needed);
    /// @notice The token's decimals are outside 6..18.
    error UnsupportedDecimals(uint8 decimals);
    /// @notice The vault received a different amount than was sent (fee-on-transfer or rebasing token).
    error UnsupportedTransferAmount(uint256 expected, uint256 received);
    /// @notice A trader's free collateral (18 decimals) is below what the action needs.
    error InsufficientFreeCollateral(address trader, uint256 available, uint256 needed);
    /// @notice The market has been settled: only {IClearingHouse-settlePosition} remains (raised by
    /// the ClearingHouse, and by the Vault for a margin moved into a closed market).
    error MarketIsSettled(address amm);
    /// @notice A claim queue entry was asked for past the queue's end.
    error ClaimIndexOutOfRange(address market, uint256 index, uint256 length);
}

/// @title IVault
/// @notice Custody of the collateral token and the ledger of who owns it. Internally every balance
/// is 18-decimal; token units appear only in `deposit`, `depositFor`, `withdraw` and `balanceOf`.
/// The ledger's accounts: each trader's free collateral; one pool per market (its open positions'
/// margins, which the ClearingHouse reports as the market's locked margin, plus what its losers
/// and the insurance fund have paid in and its winners have not yet taken out); the claims queued
/// against each market's pool; and the insurance fund. Only the ClearingHouse moves value between
/// them; the token balance always covers the free collateral, the pools and the fund.
///
/// A market's profit is paid only from its own pool beyond its locked margin: a winner is never
/// paid with another market's money or with margin that still backs an open position. Profit the
/// pool cannot pay now is queued as a claim; claims are paid first in, first out (a partly paid
/// claim stays at the head) by the permissionless {payClaims} whenever the pool holds more than
/// its locked margin, and a new profit is paid only from what is left after every queued claim.
///
/// The insurance fund's take from a market (fees, liquidation penalties, its funding share) never
/// comes out of a margin that backs an open position either: what the pool does not hold beyond
/// the margins that stay locked becomes the fund's receivable against that pool (event
/// {FundReceivableBooked}). The order in which a pool pays what it owes: the fund's receivable
/// first, then the queued claims in their order, then new profit. {payClaims} pays the receivable
/// before any claim ({FundReceivablePaid}), and a fund take that finds the pool holding more than
/// its locked margin takes from it ahead of the claims.
interface IVault is IVaultErrors {
    /// @notice A market's pool and the claims queued against it, in 18 decimals.
    /// @param pool Everything the pool holds.
    /// @param lockedMargin The margins of the market's open positions net of their pending funding
    /// (a few wei more, from rounding in the pool's favour), 0 while their funding debts exceed
    /// all their margins; part of `pool` when solvent.
    /// @param claims Queued profit not yet paid.
    /// @param fundReceivable What the pool owes the insurance fund (its take that the pool did not
    /// hold beyond its locked margin), paid ahead of the claims.
    struct MarketBalances {
        uint256 pool;
        uint256 lockedMargin;
        uint256 claims;
        uint256 fundReceivable;
    }

    /// @notice `trader`'s profit of `amount` (18 decimals) in `market` could not be paid from the
    /// market's pool and was queued at position `index`; `totalClaim` is what the trader is now owed there.
    event ClaimQueued(
        address indexed market,
        address indexed trader,
        uint256 index,
        uint256 amount,
        uint256 totalClaim
    );
    /// @notice `amount` (18 decimals) of `trader`'s claim in `market` was paid to free collateral;
    /// `remainingClaim` is what the trader is still owed there.
    event ClaimPaid(address indexed market, address indexed trader, uint256 amount, uint256 remainingClaim);

    /// @notice The insurance fund's take of `amount` (18 decimals) from `market` exceeded what the
    /// pool held beyond its locked margin and is owed to it; `totalReceivable` is what the pool now owes the fund.
    event FundReceivableBooked(address indexed market, uint256 amount, uint256 totalReceivable);
    /// @notice The insurance fund advanced `amount` (18 decimals) into `market`'s pool so the pool
    /// again holds its locked margin after a trade paid a funding debt out of a profit the pool
    /// could not pay ({advanceToPool}); the advance is booked as the fund's receivable (a
    /// {FundReceivableBooked} follows), repaid ahead of every claim.
    event FundAdvanced(address indexed market, uint256 amount);
    /// @notice `amount` (18 decimals) of the fund's receivable from `market` was paid to the fund;
    /// `remainingReceivable` is what the pool still owes it.
    event FundReceivablePaid(address indexed market, uint256 amount, uint256 remainingReceivable);

    /// @notice `market` was settled: the Vault takes no more margin into it ({closeMarket}).
    event MarketClosed(address indexed market);

    /// @notice `amount` tokens (token units) were deposited by `from` to `trader`'s free collateral.
    event Deposited(address indexed from, address indexed trader, uint256 amount);
    /// @notice `trader` withdrew `amount` tokens (token units) of free collateral.
    event Withdrawn(address indexed trader, uint256 amount);
    /// @notice The insurance fund contract that owns the insurance account was set (once).
    event InsuranceFundSet(address indexed insuranceFund);
    /// @notice The insurance fund contract deposited `amount` tokens (token units) to its account.
    event InsuranceDeposited(uint256 amount);
    /// @notice The insurance fund contract withdrew `amount` tokens (token units) to `to`.
    event InsuranceWithdrawn(address indexed to, uint256 amount);

    /// @notice Deposits `amount` tokens (token units) to the caller's free collateral.
    function deposit(uint256 amount) external;

    /// @notice Deposits `amount` tokens (token units) from the caller to `trader`'s free collateral.
    function depositFor(address trader, uint256 amount) external;

    /// @notice Withdraws `amount` tokens (token units) of the caller's free collateral.
    function withdraw(uint256 amount) external;

    /// @notice Free collateral of `trader` in token units, rounded down.
    function balanceOf(address trader) external view returns (uint256);

    /// @notice Free collateral of `trader` in 18 decimals (exact).
    function freeCollateral(address trader) external view returns (uint256);

    /// @notice The sum of every market's pool and the insurance fund balance, in 18 decimals.
    /// @dev Sums the pools of every market the Vault has settled for (its cost grows with their
    /// number): for off-chain readers and tests. A contract that needs the fund reads
    /// {insuranceAccount}.
    function getPoolBalances() external view returns (uint256 marginPool, uint256 insuranceFund);

    /// @notice The insurance account in 18 decimals (exact): what the fund can pay toward funding,
    /// bad debt and advances.
    function insuranceAccount() external view returns (uint256);

    /// @notice `market`'s pool, locked margin, queued claims and the fund's receivable, in 18 decimals.
    function marketBalances(address market) external view returns (MarketBalances memory);

    /// @notice What `market`'s pool can pay toward a new profit now (18 decimals): what it holds
    /// beyond its locked margin, the fund's receivable and its queued claims, 0 if it holds less.
    function profitAvailable(address market) external view returns (uint256);

    /// @notice What `trader` is owed in `market` by queued claims, in 18 decimals.
    function claimOf(address market, address trader) external view returns (uint256);

    /// @notice `market`'s claim queue: the index of its first unpaid entry and one past its last.
    function claimQueueBounds(address market) external view returns (uint256 head, uint256 tail);

    /// @notice The queued claim at `index` of `market`'s queue (amount 0 once paid).
    function claimAt(address market, uint256 index) external view returns (address trader, uint256 amount);

    /// @notice Pays what `market`'s pool owes with what it holds beyond its locked margin: first
    /// the insurance fund's receivable, then the queued claims in order, from the head, to the
    /// claimants' free collateral; stops after `maxClaims` entries or when the pool has nothing
    /// more to give. Anyone may call it.
    /// @return paid The total paid to claimants (18 decimals; the fund's part is not included).
    function payClaims(address market, uint256 maxClaims) external returns (uint256 paid);

    /// @notice The collateral token.
    function collateralToken() external view returns (address);

    /// @notice The ClearingHouse, the only account allowed to call `settle`.
    function clearingHouse() external view returns (address);

    /// @notice The insurance fund contract (ERC4626) that owns the insurance account; zero until set.
    function insuranceFund() external view returns (address);

    /// @notice The insurance account in token units, rounded down (what the fund contract can withdraw).
    function insuranceFundBalance() external view returns (uint256);

    /// @notice Moves value for a position change in `market` (ClearingHouse only), all in 18
    /// decimals: the trader's free collateral changes by `freeCollateralDelta` and the insurance
    /// account by `insuranceFundDelta`, the market's pool takes the other side of both; the
    /// market's locked margin changes by `lockedMarginDelta`; `claim` is queued for the trader.
    /// @dev Reverts if the trader's free collateral or the insurance account would go below zero.
    /// The trader and the fund pay in first, then the pool pays the trader, then the fund takes.
    /// A payout the pool cannot hold is paid as far as it can and the rest queued as a claim; what
    /// the fund takes is capped at what the pool holds beyond the market's locked margin after
    /// `lockedMarginDelta`, the rest booked as its receivable ({FundReceivableBooked}), so closing a
    /// position never reverts for lack of pool money and the fund is never paid out of margin that
    /// backs a position.
    function settle(
        address trader,
        address market,
        int256 freeCollateralDelta,
        int256 insuranceFundDelta,
        int256 lockedMarginDelta,
        uint256 claim
    ) external;

    /// @notice Moves `amount` of margin between `trader`'s free collateral and `market`'s pool
    /// (ClearingHouse only), in 18 decimals: exactly {settle} with a free collateral delta of
    /// `-amount` and a locked margin delta of `amount` (a margin added, `amount` > 0, or removed;
    /// also a contribution to the market's AMM budget, which the pool holds as locked margin).
    /// @dev Reverts with {ZeroAmount} for 0, {MarketIsSettled} once the market is closed
    /// ({closeMarket}), and {InsufficientFreeCollateral} when the trader holds less than an added
    /// margin. A removed margin the pool cannot hold is queued as the trader's
    /// claim, as in {settle}.
    function moveMargin(address trader, address market, int256 amount) external;

    /// @notice Closes `market` to margin, once, when the ClearingHouse settles it (ClearingHouse
    /// only): {moveMargin} into it reverts with {MarketIsSettled} from then on, so adding margin
    /// needs no read of the market's status on the ClearingHouse's side. Its pool, claims and
    /// {settle} are unchanged. Reverts with {MarketIsSettled} if it is already closed.
    function closeMarket(address market) external;

    /// @notice Moves a liquidation's value in `market` in one call (ClearingHouse only), all in 18
    /// decimals: exactly {settle} for the liquidator followed by {settle} for the trader (the
    /// latter only when it is paid or owed something), with the same events in the same order.
    /// @dev The pool pays the liquidator before the trader: what it cannot hold of either payment is
    /// queued as that account's claim, the liquidator's first. Reverts with {ZeroAddress} if
    /// `liquidator` or `trader` is the zero address, and as {settle} if the insurance account
    /// cannot pay what it owes in.
    /// @param market The market (its Amm).
    /// @param liquidator Who liquidated: paid the reward.
    /// @param reward The part of the liquidator's reward paid now, from the pool as far as it holds.
    /// @param rewardClaim The part of the reward queued as the liquidator's claim.
    /// @param insuranceFundDelta The insurance account's change (+ it takes, - it pays in), as in {settle}.
    /// @param lockedMarginDelta The market's locked margin's change.
    /// @param trader The liquidated trader.
    /// @param payout What the trader is paid now, from the pool as far as it holds.
    /// @param claim What is queued as the trader's claim.
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
    ) external;

    /// @notice Has the insurance fund advance into `market`'s pool what the pool holds below its
    /// locked margin, at most `maxAmount` and what the fund holds (ClearingHouse only). Called after
    /// a reduce or close whose funding debt (or spread) was paid out of a profit the pool could not
    /// pay: the receivers' margins already hold that debt, so without the advance they would be
    /// backed by nothing until the market's losers realise. The advance is the fund's receivable,
    /// ranked ahead of every claim, the trader's own claim included.
    /// @return advanced What the fund advanced (18 decimals); 0 if the pool holds its locked margin.
    function advanceToPool(address market, uint256 maxAmount) external returns (uint256 advanced);

    /// @notice Binds the insurance fund contract, once (ClearingHouse only, on its owner's call).
    function setInsuranceFund(address fund) external;

    /// @notice Moves `amount` tokens (token units) from the insurance fund contract into its
    /// account (insurance fund contract only).
    function depositInsurance(uint256 amount) external;

    /// @notice Pays `amount` tokens (token units) of the insurance account to `to` (insurance fund
    /// contract only: a staker's completed withdrawal).
    function withdrawInsurance(address to, uint256 amount) external;
}
