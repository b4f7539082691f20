// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IDepositPortal {
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes calldata data)
        external
        payable;
}

/// Test contract: makes an L1 deposit from contract code, so the deposit's L2 `from` is this
/// contract's aliased address.
contract DepositCaller {
    function deposit(address portal, address to, uint64 gasLimit) external payable {
        IDepositPortal(portal).depositTransaction{value: msg.value}(to, msg.value, gasLimit, false, "");
    }
}
