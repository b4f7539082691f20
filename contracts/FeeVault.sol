// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FeeVault
/// @notice Minimal fee vault used for every fee-collecting predeploy of Tributary:
///         SequencerFeeVault (0x4200000000000000000000000000000000000011),
///         BaseFeeVault      (0x4200000000000000000000000000000000000019),
///         L1FeeVault        (0x420000000000000000000000000000000000001A),
///         OperatorFeeVault  (0x420000000000000000000000000000000000001b).
///
/// The genesis puts this contract's runtime code (deployedBytecode) straight into each vault
/// account, so there is no constructor and no immutable: the recipient lives in storage and
/// the genesis sets it.
///
/// Storage map:
///
/// | slot | field          | type    | set by                                               |
/// |------|----------------|---------|------------------------------------------------------|
/// | 0    | recipient      | address | the genesis (low 20 bytes of the word, rest zero)    |
/// | 1    | totalProcessed | uint256 | withdraw(): running total of all amounts sent out    |
///
/// Fees reach a vault as plain balance credits made by the execution engine (no code runs);
/// receive() also lets anyone send ETH to it. Anyone may call withdraw(): it always pays the
/// whole balance to the configured recipient.
contract FeeVault {
    /// @notice Where withdraw() sends the vault's balance. Slot 0, set in the genesis.
    address public recipient;

    /// @notice Total amount ever withdrawn from this vault. Slot 1.
    uint256 public totalProcessed;

    /// @notice Emitted by every successful withdraw().
    event Withdrawal(uint256 amount, address to);

    /// @notice The genesis left slot 0 empty, so there is nowhere to send the funds.
    error NoRecipient();

    /// @notice The transfer to the recipient failed.
    error WithdrawalFailed();

    /// @notice Accepts ETH from anyone.
    receive() external payable {}

    /// @notice Sends the vault's whole balance to the recipient.
    function withdraw() external {
        address to = recipient;
        if (to == address(0)) revert NoRecipient();

        uint256 amount = address(this).balance;
        totalProcessed += amount;
        emit Withdrawal(amount, to);

        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawalFailed();
    }
}
