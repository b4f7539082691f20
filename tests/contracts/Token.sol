// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Token
/// @notice Test contract: a minimal ERC-20 with 18 decimals. The constructor mints
///         `initialSupply` (in base units) to the deployer.
///
/// Storage map: slot 0 totalSupply, slot 1 balanceOf (mapping), slot 2 allowance (mapping of
/// mappings). An allowance of type(uint256).max is treated as unlimited and never decreases.
contract Token {
    string public constant name = "Tributary Test Token";
    string public constant symbol = "TTT";
    uint8 public constant decimals = 18;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice `from` holds `balance`, less than the `needed` amount.
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    /// @notice `spender` may move `allowed` of the owner's tokens, less than `needed`.
    error InsufficientAllowance(address spender, uint256 allowed, uint256 needed);
    /// @notice Transfers to the zero address are refused.
    error InvalidReceiver(address to);

    constructor(uint256 initialSupply) {
        totalSupply = initialSupply;
        balanceOf[msg.sender] = initialSupply;
        emit Transfer(address(0), msg.sender, initialSupply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        if (to == address(0)) revert InvalidReceiver(to);
        uint256 fromBalance = balanceOf[from];
        if (fromBalance < value) revert InsufficientBalance(from, fromBalance, value);
        unchecked {
            // Cannot underflow (checked above) nor overflow (sum of balances is totalSupply).
            balanceOf[from] = fromBalance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
