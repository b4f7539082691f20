// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TributaryPortal
/// @notice Tributary's L1 deposit portal: the contract on L1 through which users and contracts
///         send deposit transactions (and ETH) to L2. It also publishes the rollup's L1-side
///         configuration as immutables: the batch inbox, the batcher, the unsafe-block signer
///         and the L2 block gas limit.
///
/// The node's derivation reads this contract's `TransactionDeposited` logs and turns each one
/// into a deposit transaction on L2 (crates/rollup/protocol/src/deposit.rs). The event and
/// its encoding are the OP Stack deposit encoding, version 0:
///
///   event TransactionDeposited(
///       address indexed from,     // the L2 sender (aliased when an L1 contract called, below)
///       address indexed to,       // the L2 target; address(0) for a contract creation
///       uint256 indexed version,  // always 0
///       bytes opaqueData
///   );
///
///   opaqueData = abi.encodePacked(mint, value, gasLimit, isCreation, data)
///
/// | opaqueData bytes | field      | type    | meaning                                            |
/// |------------------|------------|---------|----------------------------------------------------|
/// | 0..32            | mint       | uint256 | msg.value of the L1 call: ETH minted to `from` on L2 |
/// | 32..64           | value      | uint256 | ETH the L2 call sends to `to` (from `from`'s balance) |
/// | 64..72           | gasLimit   | uint64  | the L2 gas limit of the deposit                     |
/// | 72               | isCreation | bool    | 1 byte: 0x01 for a contract creation, else 0x00     |
/// | 73..             | data       | bytes   | the L2 calldata (init code for a creation)          |
///
/// Address aliasing: when msg.sender is not tx.origin (a contract made the call), `from` is
/// msg.sender + 0x1111000000000000000000000000000000001111 (wrapping at 2**160), so an L1
/// contract cannot impersonate the L2 account at its own address. An EOA calling directly
/// deposits from its own address.
///
/// Limits enforced on every deposit:
///   - a creation (`isCreation`) must have `to == address(0)`           -> BadTarget()
///   - gasLimit >= 21000 + 16 * data.length                               -> GasLimitTooLow(minimum)
///   - gasLimit <= l2GasLimit                                             -> GasLimitTooHigh(l2GasLimit)
///   - data.length <= 120_000 bytes                                       -> DataTooLarge()
///
/// Plain ETH sent to the portal (receive()) is a deposit of msg.value to the sender's own L2
/// address (the same aliasing rule applies, so `to` equals `from`), with value = msg.value,
/// gasLimit = 100_000 and no data.
///
/// ETH: the portal keeps every deposited wei; it is the L1 backing of the ETH minted on L2.
/// This version has no withdrawals (no L2-to-L1 messages, no proofs), so nothing can take
/// ETH out of it.
contract TributaryPortal {
    /// @notice The version of the `TransactionDeposited` encoding this portal emits.
    uint256 internal constant DEPOSIT_VERSION = 0;

    /// @notice Added (wrapping) to a contract sender's address to get its L2 `from`.
    uint160 internal constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    /// @notice The largest `data` a deposit may carry, in bytes.
    uint256 internal constant MAX_DATA_SIZE = 120_000;

    /// @notice The L2 gas limit of a deposit made by sending ETH to receive().
    uint64 internal constant RECEIVE_GAS_LIMIT = 100_000;

    /// @notice The L1 address the batcher posts L2 batches to.
    address public immutable batchInbox;

    /// @notice The L1 account allowed to post batches.
    address public immutable batcher;

    /// @notice The key that signs unsafe L2 blocks gossiped by the sequencer.
    address public immutable unsafeBlockSigner;

    /// @notice The L2 block gas limit; no deposit may ask for more.
    uint64 public immutable l2GasLimit;

    /// @notice One deposit transaction for L2; see the header for `opaqueData`.
    event TransactionDeposited(
        address indexed from, address indexed to, uint256 indexed version, bytes opaqueData
    );

    /// @notice A contract creation with a non-zero `to`.
    error BadTarget();

    /// @notice `gasLimit` is below 21000 + 16 * data.length.
    error GasLimitTooLow(uint64 minimum);

    /// @notice `gasLimit` is above the L2 block gas limit.
    error GasLimitTooHigh(uint64 maximum);

    /// @notice `data` is longer than 120_000 bytes.
    error DataTooLarge();

    constructor(
        address batchInbox_,
        address batcher_,
        address unsafeBlockSigner_,
        uint64 l2GasLimit_
    ) {
        batchInbox = batchInbox_;
        batcher = batcher_;
        unsafeBlockSigner = unsafeBlockSigner_;
        l2GasLimit = l2GasLimit_;
    }

    /// @notice The portal's version.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Deposits ETH to the sender's own L2 address: value = msg.value, gas limit
    ///         100_000, no data. A contract sender's L2 address is its aliased address.
    receive() external payable {
        address self = _l2Sender();
        _checkDeposit(self, RECEIVE_GAS_LIMIT, false, 0);
        emit TransactionDeposited(
            self,
            self,
            DEPOSIT_VERSION,
            abi.encodePacked(msg.value, msg.value, RECEIVE_GAS_LIMIT, false)
        );
    }

    /// @notice Asks for a deposit transaction on L2. msg.value is minted to `from` on L2
    ///         before the call runs; the portal keeps the ETH.
    /// @param to         The L2 target; must be address(0) when `isCreation`.
    /// @param value      The ETH the L2 call sends to `to`, taken from `from`'s L2 balance.
    /// @param gasLimit   The L2 gas limit, at least 21000 + 16 * data.length and at most l2GasLimit.
    /// @param isCreation Whether the deposit creates a contract (with `data` as init code).
    /// @param data       The L2 calldata, at most 120_000 bytes.
    function depositTransaction(
        address to,
        uint256 value,
        uint64 gasLimit,
        bool isCreation,
        bytes calldata data
    ) external payable {
        _checkDeposit(to, gasLimit, isCreation, data.length);
        emit TransactionDeposited(
            _l2Sender(),
            to,
            DEPOSIT_VERSION,
            abi.encodePacked(msg.value, value, gasLimit, isCreation, data)
        );
    }

    /// @dev msg.sender, aliased when it is a contract (msg.sender != tx.origin).
    function _l2Sender() internal view returns (address) {
        if (msg.sender == tx.origin) return msg.sender;
        unchecked {
            return address(uint160(msg.sender) + ALIAS_OFFSET);
        }
    }

    /// @dev Reverts unless a deposit with these parameters (and `dataLength` bytes of data)
    ///      is allowed; see the limits in the header.
    function _checkDeposit(
        address to,
        uint64 gasLimit,
        bool isCreation,
        uint256 dataLength
    ) internal view {
        if (isCreation && to != address(0)) revert BadTarget();

        uint64 minimum = 21000 + 16 * uint64(dataLength);
        if (gasLimit < minimum) revert GasLimitTooLow(minimum);
        if (gasLimit > l2GasLimit) revert GasLimitTooHigh(l2GasLimit);

        if (dataLength > MAX_DATA_SIZE) revert DataTooLarge();
    }
}
