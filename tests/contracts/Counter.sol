// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Counter
/// @notice Test contract: a counter with events, a string revert and a custom-error revert.
contract Counter {
    /// @notice The current count. Slot 0.
    uint256 public count;

    /// @notice Emitted on every increment, with the count after it.
    event Incremented(address indexed by, uint256 newCount);

    /// @notice Raised by boom().
    error Boom(uint256 code);

    constructor(uint256 start) {
        count = start;
    }

    /// @notice Adds one to the count.
    function increment() external {
        uint256 newCount = count + 1;
        count = newCount;
        emit Incremented(msg.sender, newCount);
    }

    /// @notice Adds `amount` to the count (reverts with Panic(0x11) on overflow).
    function incrementBy(uint256 amount) external {
        uint256 newCount = count + amount;
        count = newCount;
        emit Incremented(msg.sender, newCount);
    }

    /// @notice Always reverts with Error(string) carrying `reason`.
    function fail(string calldata reason) external pure {
        revert(reason);
    }

    /// @notice Always reverts with the custom error Boom(code).
    function boom(uint256 code) external pure {
        revert Boom(code);
    }
}
