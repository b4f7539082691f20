// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title L1Block
/// @notice Tributary's L1Block predeploy, placed at 0x4200000000000000000000000000000000000015.
///
/// The genesis puts this contract's *runtime* code (deployedBytecode) straight into the
/// predeploy account, so no constructor ever runs: every value starts as whatever the
/// genesis writes into storage (zero unless set there).
///
/// Once per L2 block the protocol's L1-attributes deposit (from DEPOSITOR_ACCOUNT) calls one
/// of the packed setters below. The execution engine (op-revm) then reads the L1 fee inputs
/// *directly from storage*, so the layout below is load-bearing and must never change.
///
/// Storage map. Byte offsets are indexes into the slot's 32-byte big-endian word, exactly as
/// op-revm 20.0.0 decodes them (`src/constants.rs`, `src/l1block.rs`); "bits" are the same
/// positions counted from the least-significant end, as Solidity packs them.
///
/// | slot | bytes (BE) | bits      | field                | type    | op-revm constant (read by the engine)       |
/// |------|------------|-----------|----------------------|---------|---------------------------------------------|
/// | 0    | [24..32)   | 0..63     | number               | uint64  | -                                           |
/// | 0    | [16..24)   | 64..127   | timestamp            | uint64  | -                                           |
/// | 1    | [0..32)    | 0..255    | basefee              | uint256 | L1_BASE_FEE_SLOT = 1                        |
/// | 2    | [0..32)    | 0..255    | hash                 | bytes32 | -                                           |
/// | 3    | [24..32)   | 0..63     | sequenceNumber       | uint64  | -                                           |
/// | 3    | [20..24)   | 64..95    | blobBaseFeeScalar    | uint32  | ECOTONE_L1_FEE_SCALARS_SLOT = 3,            |
/// |      |            |           |                      |         |   BLOB_BASE_FEE_SCALAR_OFFSET = 20          |
/// | 3    | [16..20)   | 96..127   | baseFeeScalar        | uint32  | ECOTONE_L1_FEE_SCALARS_SLOT = 3,            |
/// |      |            |           |                      |         |   BASE_FEE_SCALAR_OFFSET = 16               |
/// | 4    | [0..32)    | 0..255    | batcherHash          | bytes32 | -                                           |
/// | 5    | [0..32)    | 0..255    | l1FeeOverhead        | uint256 | L1_OVERHEAD_SLOT = 5 (pre-Ecotone, or when  |
/// |      |            |           |                      |         |   both Ecotone scalars are zero)            |
/// | 6    | [0..32)    | 0..255    | l1FeeScalar          | uint256 | L1_SCALAR_SLOT = 6 (pre-Ecotone only)       |
/// | 7    | [0..32)    | 0..255    | blobBaseFee          | uint256 | ECOTONE_L1_BLOB_BASE_FEE_SLOT = 7           |
/// | 8    | [24..32)   | 0..63     | operatorFeeConstant  | uint64  | OPERATOR_FEE_SCALARS_SLOT = 8,              |
/// |      |            |           |                      |         |   OPERATOR_FEE_CONSTANT_OFFSET = 24         |
/// | 8    | [20..24)   | 64..95    | operatorFeeScalar    | uint32  | OPERATOR_FEE_SCALARS_SLOT = 8,              |
/// |      |            |           |                      |         |   OPERATOR_FEE_SCALAR_OFFSET = 20           |
/// | 8    | [18..20)   | 96..111   | daFootprintGasScalar | uint16  | DA_FOOTPRINT_GAS_SCALAR_SLOT = 8,           |
/// |      |            |           |                      |         |   DA_FOOTPRINT_GAS_SCALAR_OFFSET = 18       |
///
/// Slots 5 and 6 (the Bedrock overhead/scalar) are never written by the packed setters; they
/// keep whatever the genesis put there. op-revm reads slot 5 post-Ecotone only when both
/// Ecotone scalars in slot 3 are zero (it then falls back to the Bedrock cost function).
///
/// Setter calldata (no ABI arguments: a packed payload follows the 4-byte selector):
///
/// | calldata bytes | field                | type    | Ecotone | Isthmus | Jovian |
/// |----------------|----------------------|---------|---------|---------|--------|
/// | 0..3           | selector             |         | 440a5e20| 098999be| 3db6be2b|
/// | 4..7           | baseFeeScalar        | uint32  | x       | x       | x      |
/// | 8..11          | blobBaseFeeScalar    | uint32  | x       | x       | x      |
/// | 12..19         | sequenceNumber       | uint64  | x       | x       | x      |
/// | 20..27         | timestamp            | uint64  | x       | x       | x      |
/// | 28..35         | number               | uint64  | x       | x       | x      |
/// | 36..67         | basefee              | uint256 | x       | x       | x      |
/// | 68..99         | blobBaseFee          | uint256 | x       | x       | x      |
/// | 100..131       | hash                 | bytes32 | x       | x       | x      |
/// | 132..163       | batcherHash          | bytes32 | x       | x       | x      |
/// | 164..167       | operatorFeeScalar    | uint32  |         | x       | x      |
/// | 168..175       | operatorFeeConstant  | uint64  |         | x       | x      |
/// | 176..177       | daFootprintGasScalar | uint16  |         |         | x      |
/// | total length   |                      |         | 164     | 176     | 178    |
///
/// Because the first payload word (calldata 4..35) is laid out big-endian as
/// baseFeeScalar|blobBaseFeeScalar|sequenceNumber|timestamp|number, its low 128 bits are
/// exactly slot 0 (number | timestamp << 64) and its high 128 bits are exactly slot 3
/// (sequenceNumber | blobBaseFeeScalar << 64 | baseFeeScalar << 96). Likewise the top 12
/// bytes of the word at calldata 164 are slot 8's operatorFeeScalar | operatorFeeConstant,
/// and the Jovian word at 164 carries daFootprintGasScalar right after them.
contract L1Block {
    /// @notice The special system address that sends the L1-attributes deposit.
    address public constant DEPOSITOR_ACCOUNT = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;

    // ---- slot 0 ----
    /// @notice Number of the L1 origin block.
    uint64 public number;
    /// @notice Timestamp of the L1 origin block.
    uint64 public timestamp;

    // ---- slot 1 ----
    /// @notice Base fee of the L1 origin block.
    uint256 public basefee;

    // ---- slot 2 ----
    /// @notice Hash of the L1 origin block.
    bytes32 public hash;

    // ---- slot 3 ----
    /// @notice Number of L2 blocks since the start of the current epoch.
    uint64 public sequenceNumber;
    /// @notice Scalar applied to the L1 blob base fee (Ecotone and later).
    uint32 public blobBaseFeeScalar;
    /// @notice Scalar applied to the L1 base fee (Ecotone and later).
    uint32 public baseFeeScalar;

    // ---- slot 4 ----
    /// @notice Versioned hash of the batcher address (SystemConfig's batcherHash).
    bytes32 public batcherHash;

    // ---- slot 5 ----
    /// @notice Bedrock L1 fee overhead. Not written by the packed setters.
    uint256 public l1FeeOverhead;

    // ---- slot 6 ----
    /// @notice Bedrock L1 fee scalar. Not written by the packed setters.
    uint256 public l1FeeScalar;

    // ---- slot 7 ----
    /// @notice Blob base fee of the L1 origin block.
    uint256 public blobBaseFee;

    // ---- slot 8 ----
    /// @notice Constant part of the operator fee (Isthmus and later).
    uint64 public operatorFeeConstant;
    /// @notice Scalar part of the operator fee (Isthmus and later).
    uint32 public operatorFeeScalar;
    /// @notice Gas charged per unit of estimated DA size when computing the block's DA
    ///         footprint (Jovian and later).
    uint16 public daFootprintGasScalar;

    /// @notice A setter was called by an account other than DEPOSITOR_ACCOUNT.
    error NotDepositor();

    /// @notice Ecotone-format update (selector 0x440a5e20, 164 bytes of calldata).
    function setL1BlockValuesEcotone() external {
        _onlyDepositor();
        _setCommonValues();
    }

    /// @notice Isthmus-format update (selector 0x098999be, 176 bytes of calldata).
    /// @dev Rewrites the whole of slot 8, so daFootprintGasScalar becomes zero, as it is in a
    ///      pre-Jovian L1Block (the Jovian activation block still uses this format).
    function setL1BlockValuesIsthmus() external {
        _onlyDepositor();
        _setCommonValues();
        assembly {
            // Top 12 bytes of the word at 164: operatorFeeScalar (4) | operatorFeeConstant (8).
            sstore(operatorFeeConstant.slot, shr(160, calldataload(164)))
        }
    }

    /// @notice Jovian-format update (selector 0x3db6be2b, 178 bytes of calldata).
    function setL1BlockValuesJovian() external {
        _onlyDepositor();
        _setCommonValues();
        assembly {
            // Top 14 bytes of the word at 164:
            // operatorFeeScalar (4) | operatorFeeConstant (8) | daFootprintGasScalar (2).
            let w := shr(144, calldataload(164))
            // Reorder into slot 8's layout: constant at bits 0..63, scalar at 64..95,
            // daFootprintGasScalar at 96..111.
            let daScalar := and(w, 0xffff)
            let feeParams := shr(16, w) // operatorFeeScalar << 64 | operatorFeeConstant
            sstore(operatorFeeConstant.slot, or(feeParams, shl(96, daScalar)))
        }
    }

    /// @dev Writes the fields shared by every packed format: slots 0, 1, 2, 3, 4 and 7.
    function _setCommonValues() private {
        assembly {
            let head := calldataload(4)
            // number | timestamp << 64: the low 128 bits of the first payload word.
            sstore(number.slot, and(head, 0xffffffffffffffffffffffffffffffff))
            // sequenceNumber | blobBaseFeeScalar << 64 | baseFeeScalar << 96: its high 128 bits.
            sstore(sequenceNumber.slot, shr(128, head))
            sstore(basefee.slot, calldataload(36))
            sstore(blobBaseFee.slot, calldataload(68))
            sstore(hash.slot, calldataload(100))
            sstore(batcherHash.slot, calldataload(132))
        }
    }

    function _onlyDepositor() private view {
        if (msg.sender != DEPOSITOR_ACCOUNT) revert NotDepositor();
    }
}
