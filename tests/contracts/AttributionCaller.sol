// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../crates/execution/precompiles/interfaces/IAttribution.sol";
import "../../crates/execution/precompiles/interfaces/IRoyalties.sol";

/// @title AttributionCaller
/// @notice Test contract: reaches the Attribution (0x…0A01) and Royalties (0x…0A02) precompiles
/// from contract code, through their Solidity interfaces, and with raw STATICCALL, DELEGATECALL
/// and CALL that report the outcome instead of reverting.
/// @dev Calls through the interfaces bubble the precompile's revert data up unchanged. Every
/// interface function used here returns data, so Solidity skips its EXTCODESIZE check, which
/// a precompile (no code) would fail.
contract AttributionCaller {
    IAttribution internal constant ATTRIBUTION = IAttribution(0x0000000000000000000000000000000000000a01);
    IRoyalties internal constant ROYALTIES = IRoyalties(0x0000000000000000000000000000000000000a02);

    /// @notice Accepts a starting balance (for tryCall with value, or fees).
    constructor() payable {}

    /// @notice Takes refunds from recordInference, payouts and plain transfers.
    receive() external payable {}

    /// @notice Registers a model owned by this contract.
    function registerModel(
        bytes32 modelHash,
        string calldata uri,
        uint256 price,
        uint16 dataBps,
        uint16 operatorBps,
        uint64[] calldata datanetIds
    ) external returns (uint64) {
        return ATTRIBUTION.registerModel(modelHash, uri, price, dataBps, operatorBps, datanetIds);
    }

    /// @notice Records an inference of a model this contract owns (or operates), paying with
    /// msg.value; the precompile refunds any excess to this contract.
    function record(
        uint64 modelId,
        address payer,
        uint64 tokens,
        bytes32 inferenceHash,
        uint64[] calldata ids,
        uint32[] calldata weights
    ) external payable returns (uint64) {
        return ATTRIBUTION.recordInference{value: msg.value}(modelId, payer, tokens, inferenceHash, ids, weights);
    }

    /// @notice STATICCALL `target` with `data`; never reverts.
    function tryStatic(address target, bytes calldata data) external view returns (bool ok, bytes memory ret) {
        (ok, ret) = target.staticcall(data);
    }

    /// @notice DELEGATECALL `target` with `data`; never reverts.
    function tryDelegate(address target, bytes calldata data) external returns (bool ok, bytes memory ret) {
        (ok, ret) = target.delegatecall(data);
    }

    /// @notice CALL `target` with `value` (from this contract's balance) and `data`; never
    /// reverts. Payable, so the value can also be sent along.
    function tryCall(address target, uint256 value, bytes calldata data)
        external
        payable
        returns (bool ok, bytes memory ret)
    {
        (ok, ret) = target.call{value: value}(data);
    }

    /// @notice A view read through the interface: Solidity makes it a STATICCALL.
    function modelStats(uint64 modelId) external view returns (IAttribution.ModelStats memory) {
        return ATTRIBUTION.modelStats(modelId);
    }

    /// @notice IRoyalties.earnings through the interface (also a STATICCALL).
    function earnings(address account) external view returns (uint256) {
        return ROYALTIES.earnings(account);
    }
}
