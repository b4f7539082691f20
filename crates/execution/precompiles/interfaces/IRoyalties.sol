// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Royalties: escrow, allowances, and the split of every inference fee.
/// @notice A native precompile at 0x0000000000000000000000000000000000000A02, active from the chain
/// spec's `attributionTime`. Escrowed OPEN is held in this account's balance.
/// @dev The split of one inference fee (`fee = tokens * pricePerKiloToken / 1000`, rounded down):
///  - protocol: fee * protocolBps / 10000, to the chain spec's treasury;
///  - operator: fee * operatorBps / 10000, to the caller of recordInference;
///  - data: fee * dataBps / 10000, divided over the attributed contributions by weight, each share
///    rounded down, to each contribution's contributor;
///  - creator (the model's owner): the rest, rounding dust included. With no attribution the data
///    share goes to the creator too.
/// Payouts are credited straight to native balances; no recipient code runs. Every credit of a
/// single settlement (recordInference, recordInferences, split) also adds to
/// `earnings(recipient)`; a batch (IAttribution.settleBatch) credits each recipient once, with
/// only the balance written, and reports the credits in `BatchPaid`. The payer is debited exactly
/// `fee`.
/// Decisions the design left open, fixed here:
///  - `approve` sets the allowance (it does not add to it); settling an inference lowers it.
///  - `split` rejects an empty list, a length mismatch, a zero total weight and zero recipients;
///    the last recipient takes the rounding dust. It also counts toward `earnings`.
interface IRoyalties {
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Approved(address indexed payer, uint64 indexed modelId, uint256 cap);
    /// @notice role: 0 creator, 1 data contributor, 2 operator, 3 protocol.
    event RoyaltyPaid(uint64 indexed inferenceId, address indexed recipient, uint8 role, uint256 amount);
    /// @notice The credits of one settled batch (IAttribution.settleBatch): each recipient once,
    /// in ascending address order, packed as 36 bytes each: the address (20) and the amount in
    /// wei (uint128, big-endian, 16). No credit can exceed 2^128-1 wei: a batch that would
    /// reverts.
    event BatchPaid(uint64 indexed batchId, bytes credits);
    event Split(address indexed payer, uint256 amount, address[] recipients, uint32[] weights);

    error InsufficientEscrow(address account, uint256 amount, uint256 escrow);
    error ZeroAmount();
    error EmptySplit();
    error LengthMismatch(uint256 recipients, uint256 weights);
    error ZeroTotalWeight();
    error ZeroAddress();
    error TooManyRecipients(uint256 count, uint256 max);
    error WriteInStaticCall();
    error DelegateCallNotAllowed();
    error NotPayable();

    /// @notice Adds msg.value to the caller's escrow.
    function deposit() external payable;
    /// @notice Sends `amount` of the caller's escrow back to the caller.
    function withdraw(uint256 amount) external;
    /// @notice Lets the operators of `modelId` charge the caller's escrow up to `cap` in total.
    function approve(uint64 modelId, uint256 cap) external;
    /// @notice Splits msg.value over `recipients` by `weights` (at most 64 recipients).
    function split(address[] calldata recipients, uint32[] calldata weights) external payable;

    function escrowOf(address account) external view returns (uint256);
    function allowance(address payer, uint64 modelId) external view returns (uint256);
    function earnings(address account) external view returns (uint256);
}
