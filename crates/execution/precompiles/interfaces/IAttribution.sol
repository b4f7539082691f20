// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Attribution: Datanets, contributions, models and the Proof of Attribution ledger.
/// @notice A native precompile at 0x0000000000000000000000000000000000000A01, active from the chain
/// spec's `attributionTime`. Its state lives in its own account's storage, so the state root
/// covers it. Fees are settled by the Royalties precompile's rules (see IRoyalties) in the same
/// call that records the inference.
/// @dev Decisions the design left open, fixed here:
///  - Ids start at 1; 0 never names anything, so a zero id in a view reverts with the Unknown* error.
///  - A contribution is Pending until its Datanet's curator (the Datanet's creator) reviews it once;
///    a review is final.
///  - `weight` on a contribution is the contributor's declared weight, kept for the record; the
///    split uses the per-inference `weights` given to `recordInference`.
///  - An inference stores its model, payer, operator, tokens, fee, hash, block number and the
///    keccak256 of its attribution list (`attributionHash` = keccak256(abi.encode(contributionIds,
///    weights))). The full list is in the InferenceRecorded event.
///  - At most 64 attributions per inference; every weight must be non-zero.
///  - Royalty roles in RoyaltyPaid: 0 creator, 1 data contributor, 2 operator, 3 protocol.
///  - `payer` for a msg.value-paid inference is recorded as given; with no value it must have
///    escrow and an allowance for the model (IRoyalties.approve), and the caller must be the
///    model's owner or one of its operators in both cases.
///
/// Batched settlement (`settleBatch`) stores nothing per inference:
///  - `records` packs the inferences back to back, big-endian, each
///    `modelId u64 | payer address | tokens u64 | fee u128 | outputHash bytes32 | n u8 |
///    n x (contributionId u64 | weight u32)` (85 + 12n bytes). `fee` is the fee the operator
///    quoted, `tokens * pricePerKiloToken / 1000` at the model's price; another price now
///    rejects the batch (FeeMismatch), so nobody is charged what they were not quoted.
///  - Every record is checked as `recordInference` checks it (caller is the model's owner or
///    operator, attributions accepted, in the model's datanets, once each, at most 64, weights
///    non-zero), each payer's escrow and allowances are checked against its running total over
///    the batch, and the first bad record rejects the whole batch with
///    `RecordRejected(index, error)`, `error` being the ABI-encoded error it would raise alone.
///  - The batch's inferences take consecutive ids; the batch's id is the first of them.
///  - State written per batch: the inference counter, one settlement commitment (below), each
///    payer's escrow and allowance, and one balance credit per distinct recipient with the sum
///    of its shares in the batch (split per record exactly as a single inference is split; the
///    creator of each record takes that record's rounding dust). Nothing else: lifetime
///    `IRoyalties.earnings` and `modelStats` count single settlements (recordInference,
///    recordInferences, split) only; a batch's credits are in its `BatchPaid` event, and the
///    node's index adds batched inferences to `attr_modelStats` and `attr_earnings`.
///  - Merkle tree of a batch: leaf = keccak256(0x00 ++ record bytes), node = keccak256(0x01 ++
///    left ++ right), leaves padded with zero words to a power of two; a proof is the sibling on
///    each level, bottom up. Its root is in `BatchSettled`.
///  - Settlement commitment: batches are chained per epoch of SETTLEMENT_EPOCH (64) inference
///    ids, the epoch of a batch being `batchId / 64`. Each epoch keeps one slot
///    (`batchCommitment(epoch)`), zero until its first batch, then after every batch
///    `keccak256(0x02 ++ previous ++ batchId (8 bytes) ++ count (4 bytes) ++ root)`. A batch
///    therefore writes one slot that usually exists already, and a record stays provable for
///    good: `verifyInference` takes its tree proof, the epoch's commitment before its batch
///    (`prior`) and the batches after it in the epoch (`later`, at most 63), and recomputes the
///    epoch's commitment. The node serves the whole proof (`attr_getInferenceProof`) and answers
///    `attr_getInference` for batched inferences from its index of every record (the
///    `getInference` view knows only per-inference settlements). A proof is against the
///    commitment at the block it was made for: a batch settled later in the same epoch extends
///    `later`, so fetch it again if the epoch is still open.
interface IAttribution {
    enum ContributionStatus {
        Pending,
        Accepted,
        Rejected
    }

    struct Datanet {
        address curator;
        string metadataUri;
        uint64 contributionCount;
    }

    struct Contribution {
        uint64 datanetId;
        address contributor;
        bytes32 contentHash;
        uint32 weight;
        ContributionStatus status;
    }

    struct Model {
        address owner;
        bytes32 modelHash;
        string metadataUri;
        uint256 pricePerKiloToken;
        uint16 dataBps;
        uint16 operatorBps;
        uint64[] datanetIds;
    }

    /// @notice One inference to settle, for `recordInferences`.
    struct Inference {
        uint64 modelId;
        address payer;
        uint64 tokens;
        bytes32 inferenceHash;
        uint64[] contributionIds;
        uint32[] weights;
    }

    /// @notice What the ledger keeps of a settled inference.
    struct InferenceRecord {
        uint64 modelId;
        address payer;
        address operator;
        uint64 tokens;
        uint256 fee;
        bytes32 inferenceHash;
        bytes32 attributionHash;
        uint64 blockNumber;
    }

    /// @notice Lifetime totals of a model's inferences settled alone (recordInference,
    ///         recordInferences; batches are counted by the node's `attr_modelStats`). Kept in
    ///         one storage slot, so `tokens` stops at 2^64-1 and `fees` (wei) at 2^128-1.
    struct ModelStats {
        uint64 inferences;
        uint256 tokens;
        uint256 fees;
    }

    /// @notice One settled batch as the epoch's commitment chains it.
    struct BatchLink {
        uint64 batchId;
        uint32 count;
        bytes32 root;
    }

    /// @notice Proof that `record` is inference `batchId + index` (see the notes above).
    struct InferenceProof {
        uint64 batchId;
        uint32 count;
        uint256 index;
        bytes record;
        /// The record's siblings in its batch's tree, bottom up.
        bytes32[] siblings;
        /// The epoch's commitment before this batch (zero for the epoch's first batch).
        bytes32 prior;
        /// The batches settled after this one in the same epoch, in order.
        BatchLink[] later;
    }

    event DatanetCreated(uint64 indexed datanetId, address indexed curator, string metadataUri);
    event ContributionSubmitted(
        uint64 indexed contributionId, uint64 indexed datanetId, address indexed contributor, bytes32 contentHash, uint32 weight
    );
    event ContributionReviewed(uint64 indexed contributionId, bool accepted);
    event ModelRegistered(
        uint64 indexed modelId,
        address indexed owner,
        bytes32 modelHash,
        uint256 pricePerKiloToken,
        uint16 dataBps,
        uint16 operatorBps,
        uint64[] datanetIds
    );
    event ModelPriceChanged(uint64 indexed modelId, uint256 oldPrice, uint256 newPrice);
    event ModelTransferred(uint64 indexed modelId, address indexed from, address indexed to);
    event OperatorChanged(uint64 indexed modelId, address indexed operator, bool allowed);
    /// @notice A batch was settled: `count` inferences with ids `batchId` to `batchId + count - 1`.
    event BatchSettled(uint64 indexed batchId, address indexed operator, uint32 count, bytes32 root, uint256 totalFee);
    event InferenceRecorded(
        uint64 indexed inferenceId,
        uint64 indexed modelId,
        address indexed payer,
        address operator,
        uint64 tokens,
        uint256 fee,
        bytes32 inferenceHash,
        uint64[] contributionIds,
        uint32[] weights
    );

    /// @notice The caller may not do this (not the owner, operator or curator).
    error Unauthorized(address caller);
    error UnknownDatanet(uint64 datanetId);
    error UnknownContribution(uint64 contributionId);
    error UnknownModel(uint64 modelId);
    error UnknownInference(uint64 inferenceId);
    /// @notice dataBps + operatorBps + the chain's protocolBps exceeds 10000.
    error InvalidShares(uint256 totalBps);
    error ZeroModelHash();
    error ZeroAddress();
    error AlreadyReviewed(uint64 contributionId);
    error ContributionNotAccepted(uint64 contributionId);
    error ContributionNotInModelDatanets(uint64 contributionId, uint64 modelId);
    error DuplicateContribution(uint64 contributionId);
    error TooManyAttributions(uint256 count, uint256 max);
    error LengthMismatch(uint256 contributionIds, uint256 weights);
    error ZeroWeight(uint64 contributionId);
    error EmptyBatch();
    /// @notice settleBatch: record `recordIndex` is cut short.
    error MalformedBatch(uint256 recordIndex);
    /// @notice settleBatch: more records than one batch may hold.
    error BatchTooLarge(uint256 maxRecords);
    /// @notice settleBatch: record `recordIndex` is invalid; `reason` is the error it raised.
    error RecordRejected(uint256 recordIndex, bytes reason);
    /// @notice The quoted fee is not what the model's price gives now.
    error FeeMismatch(uint64 modelId, uint256 quoted, uint256 fee);
    /// @notice msg.value is below the fee.
    error InsufficientPayment(uint256 fee, uint256 value);
    /// @notice The payer's escrow cannot cover the fee.
    error InsufficientEscrow(address payer, uint256 fee, uint256 escrow);
    /// @notice The fee exceeds what the payer allowed this model.
    error AllowanceExceeded(address payer, uint64 modelId, uint256 fee, uint256 allowance);
    /// @notice A state-changing call under STATICCALL.
    error WriteInStaticCall();
    /// @notice The precompile was reached by DELEGATECALL or CALLCODE.
    error DelegateCallNotAllowed();
    /// @notice Value sent to a function that is not payable.
    error NotPayable();

    function createDatanet(string calldata metadataUri) external returns (uint64 datanetId);
    function submitContribution(uint64 datanetId, bytes32 contentHash, uint32 weight) external returns (uint64 contributionId);
    /// @notice Datanet curator only; once per contribution.
    function reviewContribution(uint64 contributionId, bool accepted) external;
    function registerModel(
        bytes32 modelHash,
        string calldata metadataUri,
        uint256 pricePerKiloToken,
        uint16 dataBps,
        uint16 operatorBps,
        uint64[] calldata datanetIds
    ) external returns (uint64 modelId);
    /// @notice Owner only.
    function setPrice(uint64 modelId, uint256 pricePerKiloToken) external;
    /// @notice Owner only.
    function transferModel(uint64 modelId, address newOwner) external;
    /// @notice Owner only.
    function setOperator(uint64 modelId, address operator, bool allowed) external;
    /// @notice Owner or operator. Fee = tokens * pricePerKiloToken / 1000, paid by msg.value (excess
    /// refunded to the caller) or, with no value, from the payer's escrow within its allowance.
    function recordInference(
        uint64 modelId,
        address payer,
        uint64 tokens,
        bytes32 inferenceHash,
        uint64[] calldata contributionIds,
        uint32[] calldata weights
    ) external payable returns (uint64 inferenceId);
    /// @notice Settles every inference in one call; msg.value, if any, pays for all of them.
    function recordInferences(Inference[] calldata batch) external payable returns (uint64 firstInferenceId);
    /// @notice Settles the packed `records` from their payers' escrow, folding their Merkle root
    /// into the epoch's commitment (see the notes above). Owner or operator of every record's model.
    function settleBatch(bytes calldata records) external returns (uint64 batchId);
    /// @notice The settlement commitment of `epoch` (inference ids `64 * epoch` to
    /// `64 * epoch + 63` hold its batches' first ids); zero before its first batch.
    function batchCommitment(uint64 epoch) external view returns (bytes32);
    /// @notice Whether `proof.record` (packed as in settleBatch) is inference
    /// `proof.batchId + proof.index`, against the epoch's commitment now.
    function verifyInference(InferenceProof calldata proof) external view returns (bool);

    function getDatanet(uint64 datanetId) external view returns (Datanet memory);
    function getContribution(uint64 contributionId) external view returns (Contribution memory);
    function getModel(uint64 modelId) external view returns (Model memory);
    function getInference(uint64 inferenceId) external view returns (InferenceRecord memory);
    function isOperator(uint64 modelId, address operator) external view returns (bool);
    function modelStats(uint64 modelId) external view returns (ModelStats memory);
    function datanetCount() external view returns (uint64);
    function contributionCount() external view returns (uint64);
    function modelCount() external view returns (uint64);
    function inferenceCount() external view returns (uint64);
}
