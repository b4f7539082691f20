// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Storage
/// @notice Test contract: a key/value map of words. The value for key k is stored at
///         storage slot keccak256(abi.encode(k, uint256(0))).
contract Storage {
    /// @notice The stored values. Mapping at slot 0.
    mapping(uint256 => uint256) public slots;

    /// @notice Emitted by every set().
    event Set(uint256 indexed k, uint256 v);

    /// @notice Stores `v` under key `k`.
    function set(uint256 k, uint256 v) external {
        slots[k] = v;
        emit Set(k, v);
    }
}
