// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "../../crates/execution/precompiles/interfaces/IAttribution.sol";
import "../../crates/execution/precompiles/interfaces/IRoyalties.sol";

/// @title SolidityAttribution
/// @notice Benchmark baseline: the Attribution precompile's registries and settlement written as
/// an ordinary contract, to compare the native precompile with the same work done in EVM code.
/// It implements all of IAttribution (same ABI, checks, errors, events, records and split) and
/// IRoyalties' `earnings`, except:
///  - no escrow: an inference is paid by msg.value only, and a call without value reverts with
///    `EscrowNotSupported()`;
///  - payouts are CALLs with value (recipient code runs; a failing recipient reverts the
///    settlement with `PaymentFailed`), where the precompile only credits balances;
///  - the chain parameters (protocol share, treasury) are constructor arguments;
///  - value sent to a non-payable function reverts with empty data (Solidity's own check), not
///    `NotPayable()`; `WriteInStaticCall` and `DelegateCallNotAllowed` do not apply.
/// @dev Storage is the precompile's layout (crates/execution/precompiles/src/layout.rs): slot 0
/// holds the four counters; datanets, contributions, models, operators and inferences are the
/// mappings at slots 1 to 5 with the same packed fields at the same offsets. Strings use
/// Solidity's encoding (short ones inline), and earnings live at slot 6 of this contract rather
/// than in a separate Royalties account.
/// `settleBatch` is the precompile's batched settlement with the same packed records, checks,
/// errors, Merkle tree and events, drawing on this contract's own escrow (`deposit`, `approve`,
/// `escrowOf`, `allowance`, as IRoyalties has them): every record is checked with what it reads
/// cached in transient storage for the batch, nothing is stored per inference, escrow and
/// allowances are written once per payer, each recipient is paid once (a CALL, no earnings
/// update, as the precompile credits balances only), no per-model stats are kept for batches,
/// and the root is chained into its epoch's one slot. BatchPaid lists the recipients in
/// first-credit order (the precompile sorts them by address).
/// Settlement works like the precompile's: each inference is checked, recorded and split in
/// turn (RoyaltyPaid per payout per inference), the payouts are summed per recipient across the
/// whole call, and each recipient is paid once at the end, followed by the refund. Transient
/// storage (EIP-1153) backs the per-call recipient index and the duplicate check, so both are
/// O(1) per entry; scratch memory is allocated once per call.
contract SolidityAttribution is IAttribution {
    /// @notice Most attributions one inference may carry.
    uint256 public constant MAX_ATTRIBUTIONS = 64;
    /// @notice Most datanets one model may draw on.
    uint256 public constant MAX_MODEL_DATANETS = 32;

    /// @notice recordInference/recordInferences without value: escrow is not implemented here.
    error EscrowNotSupported();
    /// @notice A payout or the refund was rejected by its recipient.
    error PaymentFailed(address recipient, uint256 amount);

    /// @notice The chain's protocol share of every fee, basis points.
    uint16 public immutable protocolBps;
    /// @notice Receives the protocol share.
    address public immutable treasury;

    // ---- storage, the precompile's layout ----

    struct Counters {
        uint64 datanets; // bits 0..64
        uint64 contributions; // 64..128
        uint64 models; // 128..192
        uint64 inferences; // 192..256
    }

    struct DatanetData {
        address curator; // +0, bits 0..160
        uint64 contributionCount; // +0, 160..224
        string metadataUri; // +1
    }

    struct ContributionData {
        address contributor; // +0, bits 0..160
        uint64 datanetId; // +0, 160..224
        ContributionStatus status; // +0, 224..232
        bytes32 contentHash; // +1
        uint32 weight; // +2
    }

    struct ModelData {
        address owner; // +0, bits 0..160
        uint16 dataBps; // +0, 160..176
        uint16 operatorBps; // +0, 176..192
        uint8 datanetCount; // +0, 192..200
        bytes32 modelHash; // +1
        uint256 price; // +2
        // Lifetime stats packed into one slot (+3), as the precompile keeps them.
        uint64 inferences; // +3, bits 0..64
        uint64 tokens; // +3, 64..128
        uint128 fees; // +3, 128..256
        string metadataUri; // +4
        uint64[MAX_MODEL_DATANETS] datanetIds; // +5..+12, four per slot
    }

    struct InferenceData {
        address payer; // +0, bits 0..160
        uint64 modelId; // +0, 160..224
        address operator; // +1, bits 0..160
        uint64 tokens; // +1, 160..224
        uint32 blockNumber; // +1, 224..256
        uint256 fee; // +2
        bytes32 inferenceHash; // +3
        bytes32 attributionHash; // +4
    }

    Counters internal _counters; // slot 0
    mapping(uint64 => DatanetData) internal _datanets; // slot 1
    mapping(uint64 => ContributionData) internal _contributions; // slot 2
    mapping(uint64 => ModelData) internal _models; // slot 3
    mapping(uint64 => mapping(address => bool)) internal _operators; // slot 4
    mapping(uint64 => InferenceData) internal _inferences; // slot 5
    /// @notice Lifetime payouts per recipient (IRoyalties.earnings).
    mapping(address => uint256) public earnings; // slot 6

    // ---- transient storage keys ----

    /// Generation counter: every settlement call and every checked attribution list takes a
    /// fresh value, so entries written under older generations read as absent and nothing
    /// needs clearing (also across several calls in one transaction, reentrant ones included).
    uint256 private constant T_GENERATION = type(uint256).max;
    /// Recipient index of the current call's ledger: key = the address,
    /// value = generation << 128 | index.
    /// Duplicate check of the current attribution list: key = T_SEEN | contribution id,
    /// value = generation.
    uint256 private constant T_SEEN = 1 << 160;

    /// What one settlement call accumulates, in memory.
    struct Settlement {
        uint256 generation;
        uint256 totalFee;
        uint256 count; // ledger entries used
        address[] recipients; // ledger, in first-payout order
        uint256[] amounts;
        address[] contributors; // scratch: the current inference's contributors
        uint256[8] datanetWords; // scratch: the current model's packed datanet ids, four per word
    }

    constructor(uint16 protocolBps_, address treasury_) {
        if (protocolBps_ > 10_000) revert InvalidShares(protocolBps_);
        if (treasury_ == address(0)) revert ZeroAddress();
        protocolBps = protocolBps_;
        treasury = treasury_;
    }

    // ---- registries ----

    function createDatanet(string calldata metadataUri) external returns (uint64 datanetId) {
        unchecked {
            datanetId = ++_counters.datanets;
        }
        DatanetData storage d = _datanets[datanetId];
        d.curator = msg.sender;
        d.metadataUri = metadataUri;
        emit DatanetCreated(datanetId, msg.sender, metadataUri);
    }

    function submitContribution(uint64 datanetId, bytes32 contentHash, uint32 weight)
        external
        returns (uint64 contributionId)
    {
        DatanetData storage d = _datanets[datanetId];
        if (d.curator == address(0)) revert UnknownDatanet(datanetId);
        unchecked {
            contributionId = ++_counters.contributions;
        }
        ContributionData storage c = _contributions[contributionId];
        c.contributor = msg.sender;
        c.datanetId = datanetId;
        c.contentHash = contentHash;
        c.weight = weight;
        unchecked {
            ++d.contributionCount;
        }
        emit ContributionSubmitted(contributionId, datanetId, msg.sender, contentHash, weight);
    }

    function reviewContribution(uint64 contributionId, bool accepted) external {
        ContributionData storage c = _contributions[contributionId];
        address contributor = c.contributor;
        uint64 datanetId = c.datanetId;
        ContributionStatus status = c.status;
        if (contributor == address(0)) revert UnknownContribution(contributionId);
        address curator = _datanets[datanetId].curator;
        if (curator == address(0)) revert UnknownDatanet(datanetId);
        if (curator != msg.sender) revert Unauthorized(msg.sender);
        if (status != ContributionStatus.Pending) revert AlreadyReviewed(contributionId);
        c.status = accepted ? ContributionStatus.Accepted : ContributionStatus.Rejected;
        emit ContributionReviewed(contributionId, accepted);
    }

    function registerModel(
        bytes32 modelHash,
        string calldata metadataUri,
        uint256 pricePerKiloToken,
        uint16 dataBps,
        uint16 operatorBps,
        uint64[] calldata datanetIds
    ) external returns (uint64 modelId) {
        uint256 total = uint256(dataBps) + operatorBps + protocolBps;
        if (total > 10_000) revert InvalidShares(total);
        if (modelHash == bytes32(0)) revert ZeroModelHash();
        uint256 n = datanetIds.length;
        if (n > MAX_MODEL_DATANETS) revert TooManyAttributions(n, MAX_MODEL_DATANETS);
        for (uint256 i; i < n; ) {
            uint64 datanetId = datanetIds[i];
            if (_datanets[datanetId].curator == address(0)) revert UnknownDatanet(datanetId);
            unchecked {
                ++i;
            }
        }
        unchecked {
            modelId = ++_counters.models;
        }
        ModelData storage m = _models[modelId];
        m.owner = msg.sender;
        m.dataBps = dataBps;
        m.operatorBps = operatorBps;
        m.datanetCount = uint8(n);
        m.modelHash = modelHash;
        m.price = pricePerKiloToken;
        m.metadataUri = metadataUri;
        for (uint256 i; i < n; ) {
            m.datanetIds[i] = datanetIds[i];
            unchecked {
                ++i;
            }
        }
        emit ModelRegistered(modelId, msg.sender, modelHash, pricePerKiloToken, dataBps, operatorBps, datanetIds);
    }

    function setPrice(uint64 modelId, uint256 pricePerKiloToken) external {
        ModelData storage m = _onlyOwner(modelId);
        uint256 old = m.price;
        m.price = pricePerKiloToken;
        emit ModelPriceChanged(modelId, old, pricePerKiloToken);
    }

    function transferModel(uint64 modelId, address newOwner) external {
        if (newOwner == address(0)) revert ZeroAddress();
        ModelData storage m = _onlyOwner(modelId);
        m.owner = newOwner;
        emit ModelTransferred(modelId, msg.sender, newOwner);
    }

    function setOperator(uint64 modelId, address operator, bool allowed) external {
        if (operator == address(0)) revert ZeroAddress();
        _onlyOwner(modelId);
        _operators[modelId][operator] = allowed;
        emit OperatorChanged(modelId, operator, allowed);
    }

    function _model(uint64 modelId) private view returns (ModelData storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }

    function _onlyOwner(uint64 modelId) private view returns (ModelData storage m) {
        m = _model(modelId);
        if (m.owner != msg.sender) revert Unauthorized(msg.sender);
    }

    // ---- settlement ----

    function recordInference(
        uint64 modelId,
        address payer,
        uint64 tokens,
        bytes32 inferenceHash,
        uint64[] calldata contributionIds,
        uint32[] calldata weights
    ) external payable returns (uint64 inferenceId) {
        // The parameters were decoded (and validated) by the dispatcher; settlement reads them
        // in place as one Inference (see _parametersAsInference).
        (modelId, payer, tokens, inferenceHash, weights);
        uint256 n = contributionIds.length;
        if (n > MAX_ATTRIBUTIONS) n = MAX_ATTRIBUTIONS; // more reverts before any use
        Settlement memory s = _begin(3 + n, n);
        inferenceId = _settle(s, _parametersAsInference());
        _finish(s);
    }

    function recordInferences(Inference[] calldata batch) external payable returns (uint64 firstInferenceId) {
        uint256 len = batch.length;
        if (len == 0) revert EmptyBatch();
        // Distinct recipients: the caller (operator), the treasury, one creator per inference
        // at most, and the contributors.
        uint256 capacity = 2 + len;
        uint256 maxAttributions;
        for (uint256 i; i < len; ) {
            uint256 n = batch[i].contributionIds.length;
            if (n > MAX_ATTRIBUTIONS) n = MAX_ATTRIBUTIONS; // more reverts before any use
            if (n > maxAttributions) maxAttributions = n;
            unchecked {
                capacity += n;
                ++i;
            }
        }
        Settlement memory s = _begin(capacity, maxAttributions);
        firstInferenceId = _settle(s, batch[0]);
        for (uint256 i = 1; i < len; ) {
            _settle(s, batch[i]);
            unchecked {
                ++i;
            }
        }
        _finish(s);
    }

    /// recordInference's parameters are ABI-encoded exactly like one `Inference` tuple (the
    /// same head words, array offsets relative to the start of the parameters at byte 4), so
    /// they are read in place as one instead of being copied.
    function _parametersAsInference() private pure returns (Inference calldata inference) {
        assembly {
            inference := 4
        }
    }

    function _begin(uint256 capacity, uint256 maxAttributions) private returns (Settlement memory s) {
        if (msg.value == 0) revert EscrowNotSupported();
        s.generation = _nextGeneration();
        s.recipients = new address[](capacity);
        s.amounts = new uint256[](capacity);
        s.contributors = new address[](maxAttributions);
    }

    /// Checks, records and splits one inference; the payouts go to the ledger.
    function _settle(Settlement memory s, Inference calldata inference) private returns (uint64 inferenceId) {
        uint64 modelId = inference.modelId;
        ModelData storage m = _models[modelId];
        address owner = m.owner;
        if (owner == address(0)) revert UnknownModel(modelId);
        if (owner != msg.sender && !_operators[modelId][msg.sender]) revert Unauthorized(msg.sender);
        uint256 attributions = _checkAttribution(s, m, inference);

        uint64 tokens = inference.tokens;
        uint256 fee;
        unchecked {
            uint256 price = m.price;
            uint256 product = uint256(tokens) * price;
            if (tokens != 0 && product / tokens != price) {
                revert InsufficientPayment(type(uint256).max, msg.value);
            }
            fee = product / 1000;
        }
        uint256 totalFee = s.totalFee + fee;
        if (totalFee > msg.value) revert InsufficientPayment(totalFee, msg.value);
        s.totalFee = totalFee;

        unchecked {
            inferenceId = ++_counters.inferences;
        }
        InferenceData storage r = _inferences[inferenceId];
        r.payer = inference.payer;
        r.modelId = modelId;
        r.operator = msg.sender;
        r.tokens = tokens;
        r.blockNumber = uint32(block.number);
        r.fee = fee;
        r.inferenceHash = inference.inferenceHash;
        r.attributionHash = _attributionHash(inference);
        // Lifetime sums far below their widths (the precompile saturates; a contract would
        // need 2^64 tokens or 2^128 wei to see the difference).
        unchecked {
            m.inferences += 1;
            m.tokens += tokens;
            m.fees += uint128(fee);
        }
        _emitRecorded(inferenceId, inference, fee);
        _split(s, m, inference, inferenceId, fee, attributions);
    }

    /// Checks the attribution list against the model (same checks, same order as the
    /// precompile) and leaves the contributors in `s.contributors`. Returns their count.
    function _checkAttribution(Settlement memory s, ModelData storage m, Inference calldata inference)
        private
        returns (uint256 n)
    {
        uint64[] calldata ids = inference.contributionIds;
        n = ids.length;
        {
            uint256 weightCount = inference.weights.length;
            if (n != weightCount) revert LengthMismatch(n, weightCount);
        }
        if (n > MAX_ATTRIBUTIONS) revert TooManyAttributions(n, MAX_ATTRIBUTIONS);
        if (n == 0) return 0;

        uint256 netCount = m.datanetCount;
        uint256[8] memory words = s.datanetWords;
        _loadDatanets(m, netCount, words);
        uint32[] calldata weights = inference.weights;
        address[] memory contributors = s.contributors;
        uint256 generation = _nextGeneration();
        for (uint256 i; i < n; ) {
            uint64 id = ids[i];
            (address contributor, uint64 datanetId) = _checkContribution(id, weights[i], generation);
            if (!_hasDatanet(words, netCount, datanetId)) {
                revert ContributionNotInModelDatanets(id, inference.modelId);
            }
            contributors[i] = contributor;
            unchecked {
                ++i;
            }
        }
    }

    /// One attribution: non-zero weight, not seen before in this list (generation mark in
    /// transient storage), an existing, accepted contribution. Returns its contributor and
    /// datanet.
    function _checkContribution(uint64 id, uint32 weight, uint256 generation)
        private
        returns (address contributor, uint64 datanetId)
    {
        if (weight == 0) revert ZeroWeight(id);
        uint256 key = T_SEEN | id;
        uint256 seen;
        assembly {
            seen := tload(key)
        }
        if (seen == generation) revert DuplicateContribution(id);
        assembly {
            tstore(key, generation)
        }
        ContributionData storage c = _contributions[id];
        contributor = c.contributor;
        datanetId = c.datanetId;
        ContributionStatus status = c.status;
        if (contributor == address(0)) revert UnknownContribution(id);
        if (status != ContributionStatus.Accepted) revert ContributionNotAccepted(id);
    }

    /// Copies the model's packed datanet-id words (four ids per slot) into `words`.
    function _loadDatanets(ModelData storage m, uint256 count, uint256[8] memory words) private view {
        uint64[MAX_MODEL_DATANETS] storage ids = m.datanetIds;
        uint256 first;
        assembly {
            first := ids.slot
        }
        uint256 slots = (count + 3) >> 2;
        for (uint256 i; i < slots; ) {
            uint256 word;
            assembly {
                word := sload(add(first, i))
            }
            words[i] = word;
            unchecked {
                ++i;
            }
        }
    }

    function _hasDatanet(uint256[8] memory words, uint256 count, uint64 datanetId) private pure returns (bool) {
        for (uint256 k; k < count; ) {
            if (uint64(words[k >> 2] >> ((k & 3) << 6)) == datanetId) return true;
            unchecked {
                ++k;
            }
        }
        return false;
    }

    /// keccak256(abi.encode(contributionIds, weights)), without keeping the encoding in memory.
    function _attributionHash(Inference calldata inference) private pure returns (bytes32 hash) {
        uint256 freeMemory;
        assembly {
            freeMemory := mload(0x40)
        }
        hash = keccak256(abi.encode(inference.contributionIds, inference.weights));
        assembly {
            mstore(0x40, freeMemory)
        }
    }

    function _emitRecorded(uint64 inferenceId, Inference calldata inference, uint256 fee) private {
        emit InferenceRecorded(
            inferenceId,
            inference.modelId,
            inference.payer,
            msg.sender,
            inference.tokens,
            fee,
            inference.inferenceHash,
            inference.contributionIds,
            inference.weights
        );
    }

    /// The precompile's split (crates/execution/precompiles/src/settle.rs): data shares by
    /// weight, then operator, protocol and the creator's rest; zero amounts left out.
    function _split(
        Settlement memory s,
        ModelData storage m,
        Inference calldata inference,
        uint64 inferenceId,
        uint256 fee,
        uint256 attributions
    ) private {
        // fee <= msg.value (checked before), so none of this overflows.
        unchecked {
            uint256 operatorShare = fee * m.operatorBps / 10_000;
            uint256 protocolShare = fee * protocolBps / 10_000;
            uint256 paid = operatorShare + protocolShare;
            if (attributions != 0) {
                paid += _payContributors(s, inference.weights, fee * m.dataBps / 10_000, inferenceId, attributions);
            }
            _pay(s, inferenceId, msg.sender, 2, operatorShare);
            _pay(s, inferenceId, treasury, 3, protocolShare);
            _pay(s, inferenceId, m.owner, 0, fee - paid);
        }
    }

    function _payContributors(
        Settlement memory s,
        uint32[] calldata weights,
        uint256 dataShare,
        uint64 inferenceId,
        uint256 n
    ) private returns (uint256 paid) {
        unchecked {
            uint256 totalWeight;
            for (uint256 i; i < n; ++i) {
                totalWeight += weights[i];
            }
            address[] memory contributors = s.contributors;
            for (uint256 i; i < n; ++i) {
                uint256 amount = dataShare * weights[i] / totalWeight;
                paid += amount;
                _pay(s, inferenceId, contributors[i], 1, amount);
            }
        }
    }

    /// Emits RoyaltyPaid and adds `amount` to `recipient`'s ledger entry.
    function _pay(Settlement memory s, uint64 inferenceId, address recipient, uint8 role, uint256 amount) private {
        if (amount == 0) return;
        emit IRoyalties.RoyaltyPaid(inferenceId, recipient, role, amount);
        _credit(s, recipient, amount);
    }

    /// Pays every ledger entry once (earnings first), then refunds the excess value.
    function _finish(Settlement memory s) private {
        uint256 count = s.count;
        address[] memory recipients = s.recipients;
        uint256[] memory amounts = s.amounts;
        for (uint256 i; i < count; ) {
            address recipient = recipients[i];
            uint256 amount = amounts[i];
            unchecked {
                earnings[recipient] += amount;
            }
            _send(recipient, amount);
            unchecked {
                ++i;
            }
        }
        uint256 refund;
        unchecked {
            refund = msg.value - s.totalFee;
        }
        if (refund != 0) _send(msg.sender, refund);
    }

    function _send(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert PaymentFailed(to, amount);
    }

    function _nextGeneration() private returns (uint256 generation) {
        uint256 key = T_GENERATION;
        assembly {
            generation := add(tload(key), 1)
            tstore(key, generation)
        }
    }

    // ---- batched settlement (settleBatch), as the precompile does it ----

    /// @notice Escrow per payer (IRoyalties.escrowOf), drawn on by settleBatch.
    mapping(address => uint256) public escrowOf; // slot 7
    /// @notice What each payer allows each model's operators to charge (IRoyalties.allowance).
    mapping(address => mapping(uint64 => uint256)) public allowance; // slot 8
    /// @dev Epoch (batch id / SETTLEMENT_EPOCH) => settlement commitment.
    mapping(uint64 => bytes32) internal _commitments; // slot 9
    uint64 private constant SETTLEMENT_EPOCH = 64;

    /// Contribution cache of the current batch and model: key = T_CONTRIBUTION | id,
    /// value = generation << 160 | contributor (an accepted contribution in the model's datanets).
    uint256 private constant T_CONTRIBUTION = 2 << 160;
    /// Escrow draws of the current batch: key = T_ESCROW | payer, value = generation << 128 | index.
    uint256 private constant T_ESCROW = 3 << 160;
    /// Allowance draws of the current batch and model: key = T_ALLOWANCE | payer, as above.
    uint256 private constant T_ALLOWANCE = 4 << 160;
    uint256 private constant MAX_BATCH_RECORDS = 4096;

    /// @notice IRoyalties.deposit.
    function deposit() external payable {
        escrowOf[msg.sender] += msg.value;
    }

    /// @notice IRoyalties.approve.
    function approve(uint64 modelId, uint256 cap) external {
        allowance[msg.sender][modelId] = cap;
    }

    /// What one settleBatch call holds in memory.
    struct BatchState {
        uint256 batchGeneration; // escrow draws, for the whole call
        uint256 modelGeneration; // contributions and allowances, per model in turn
        uint64 modelId; // the model whose fields follow (0: none yet)
        address owner;
        uint256 price;
        uint256 dataBps;
        uint256 operatorBps;
        uint256 netCount;
        bool datanetsLoaded; // s.datanetWords holds this model's datanets
        uint256 draws; // escrow entries used
        address[] drawPayers;
        uint256[] drawHeld;
        uint256[] drawTaken;
        uint256 allowanceDraws;
        address[] allowancePayers;
        uint64[] allowanceModels;
        uint256[] allowanceHeld;
        uint256[] allowanceTaken;
    }

    function settleBatch(bytes calldata records) external returns (uint64 batchId) {
        uint256 len = records.length;
        if (len == 0) revert EmptyBatch();
        // First pass: the record count and the attribution total, for the scratch sizes.
        uint256 count;
        uint256 attributionTotal;
        {
            uint256 pos;
            while (pos < len) {
                if (count == MAX_BATCH_RECORDS) revert BatchTooLarge(MAX_BATCH_RECORDS);
                if (pos + 85 > len) revert MalformedBatch(count);
                uint256 n = uint8(records[pos + 84]);
                pos += 85 + 12 * n;
                if (pos > len) revert MalformedBatch(count);
                attributionTotal += n;
                ++count;
            }
        }
        Settlement memory s;
        s.generation = _nextGeneration();
        s.recipients = new address[](2 + count + attributionTotal);
        s.amounts = new uint256[](2 + count + attributionTotal);
        s.contributors = new address[](MAX_ATTRIBUTIONS);
        BatchState memory b;
        b.batchGeneration = s.generation;
        b.drawPayers = new address[](count);
        b.drawHeld = new uint256[](count);
        b.drawTaken = new uint256[](count);
        b.allowancePayers = new address[](count);
        b.allowanceModels = new uint64[](count);
        b.allowanceHeld = new uint256[](count);
        b.allowanceTaken = new uint256[](count);
        bytes32[] memory leaves = new bytes32[](count);

        uint256 offset;
        for (uint256 i; i < count; ) {
            offset = _settleRecord(s, b, records, offset, i, leaves);
            unchecked {
                ++i;
            }
        }
        for (uint256 i; i < b.draws; ) {
            escrowOf[b.drawPayers[i]] = b.drawHeld[i] - b.drawTaken[i];
            unchecked {
                ++i;
            }
        }
        for (uint256 i; i < b.allowanceDraws; ) {
            allowance[b.allowancePayers[i]][b.allowanceModels[i]] = b.allowanceHeld[i] - b.allowanceTaken[i];
            unchecked {
                ++i;
            }
        }
        bytes32 root = _merkleRoot(leaves);
        unchecked {
            batchId = _counters.inferences + 1;
            _counters.inferences += uint64(count);
        }
        uint64 epoch = batchId / SETTLEMENT_EPOCH;
        _commitments[epoch] = _link(_commitments[epoch], batchId, uint32(count), root);

        // One credit per recipient, then the events.
        uint256 recipients = s.count;
        // 16 bytes of slack: each amount is written as a whole word, the last one past the end.
        bytes memory credits = new bytes(36 * recipients + 16);
        for (uint256 i; i < recipients; ) {
            address to = s.recipients[i];
            uint256 amount = s.amounts[i];
            if (amount > type(uint128).max) revert();
            _send(to, amount);
            assembly {
                let at := add(add(credits, 32), mul(i, 36))
                // address in the first 20 bytes, the amount's low 16 bytes right after
                mstore(at, shl(96, to))
                mstore(add(at, 20), shl(128, amount))
            }
            unchecked {
                ++i;
            }
        }
        assembly {
            mstore(credits, mul(36, recipients))
        }
        emit BatchSettled(batchId, msg.sender, uint32(count), root, s.totalFee);
        emit IRoyalties.BatchPaid(batchId, credits);
    }

    /// Checks record `i` at `pos`, adds its fee, shares and leaf; returns the next record's offset.
    function _settleRecord(
        Settlement memory s,
        BatchState memory b,
        bytes calldata records,
        uint256 pos,
        uint256 i,
        bytes32[] memory leaves
    ) private returns (uint256 next) {
        uint256 n = uint8(records[pos + 84]);
        next = pos + 85 + 12 * n;
        uint64 modelId = uint64(bytes8(records[pos:pos + 8]));
        if (modelId != b.modelId) _loadModel(b, modelId, i);
        uint256 fee = _recordFee(b, records, pos, modelId, i);
        if (n > MAX_ATTRIBUTIONS) {
            _reject(i, abi.encodeWithSelector(TooManyAttributions.selector, n, MAX_ATTRIBUTIONS));
        }
        uint256 totalWeight = _checkRecordAttributions(s, b, records, pos + 85, n, modelId, i);
        _draw(b, address(bytes20(records[pos + 8:pos + 28])), modelId, fee, i);
        _splitRecord(s, b, records, pos + 85, n, fee, totalWeight);
        leaves[i] = keccak256(bytes.concat(bytes1(0x00), records[pos:next]));
    }

    /// The record's fee at the model's price, which must be the quoted one.
    function _recordFee(BatchState memory b, bytes calldata records, uint256 pos, uint64 modelId, uint256 i)
        private
        pure
        returns (uint256 fee)
    {
        uint64 tokens = uint64(bytes8(records[pos + 28:pos + 36]));
        uint256 quoted = uint128(bytes16(records[pos + 36:pos + 52]));
        unchecked {
            uint256 product = uint256(tokens) * b.price;
            fee = (tokens != 0 && product / tokens != b.price) ? type(uint256).max : product / 1000;
        }
        if (fee != quoted) _reject(i, abi.encodeWithSelector(FeeMismatch.selector, modelId, quoted, fee));
    }

    /// The precompile's split of one record's fee, into the ledger: data shares by weight, then
    /// operator, protocol and the creator's rest.
    function _splitRecord(
        Settlement memory s,
        BatchState memory b,
        bytes calldata records,
        uint256 at,
        uint256 n,
        uint256 fee,
        uint256 totalWeight
    ) private {
        uint256 paid;
        if (totalWeight != 0) {
            unchecked {
                paid = _creditContributors(s, records, at, n, fee * b.dataBps / 10_000, totalWeight);
            }
        }
        _creditRest(s, b, fee, paid);
    }

    function _creditRest(Settlement memory s, BatchState memory b, uint256 fee, uint256 paid) private {
        unchecked {
            uint256 operatorShare = fee * b.operatorBps / 10_000;
            uint256 protocolShare = fee * protocolBps / 10_000;
            _credit(s, msg.sender, operatorShare);
            _credit(s, treasury, protocolShare);
            _credit(s, b.owner, fee - paid - operatorShare - protocolShare);
            s.totalFee += fee;
        }
    }

    /// Each contributor's share of `dataShare` by weight, rounded down, into the ledger.
    function _creditContributors(
        Settlement memory s,
        bytes calldata records,
        uint256 at,
        uint256 n,
        uint256 dataShare,
        uint256 totalWeight
    ) private returns (uint256 paid) {
        unchecked {
            for (uint256 k; k < n; ++k) {
                uint256 amount = dataShare * uint32(bytes4(records[at + 12 * k + 8:at + 12 * k + 12])) / totalWeight;
                paid += amount;
                _credit(s, s.contributors[k], amount);
            }
        }
    }

    /// Switches the batch to `modelId`: its fields read and the caller's right to settle for it
    /// checked.
    function _loadModel(BatchState memory b, uint64 modelId, uint256 i) private {
        ModelData storage m = _models[modelId];
        address owner = m.owner;
        if (owner == address(0)) _reject(i, abi.encodeWithSelector(UnknownModel.selector, modelId));
        if (owner != msg.sender && !_operators[modelId][msg.sender]) {
            _reject(i, abi.encodeWithSelector(Unauthorized.selector, msg.sender));
        }
        uint256 shares = uint256(m.dataBps) + m.operatorBps + protocolBps;
        if (shares > 10_000) _reject(i, abi.encodeWithSelector(InvalidShares.selector, shares));
        b.modelId = modelId;
        b.owner = owner;
        b.price = m.price;
        b.dataBps = m.dataBps;
        b.operatorBps = m.operatorBps;
        b.netCount = m.datanetCount;
        b.datanetsLoaded = false;
        b.modelGeneration = _nextGeneration();
    }

    /// The record's attributions (same checks, same order as the precompile), contributors into
    /// `s.contributors`; each contribution is read once per batch and model. Returns the total weight.
    function _checkRecordAttributions(
        Settlement memory s,
        BatchState memory b,
        bytes calldata records,
        uint256 at,
        uint256 n,
        uint64 modelId,
        uint256 i
    ) private returns (uint256 totalWeight) {
        if (n == 0) return 0;
        uint256 seenGeneration = _nextGeneration();
        for (uint256 k; k < n; ) {
            uint64 id = uint64(bytes8(records[at + 12 * k:at + 12 * k + 8]));
            uint32 weight = uint32(bytes4(records[at + 12 * k + 8:at + 12 * k + 12]));
            _checkOnce(id, weight, seenGeneration, i);
            s.contributors[k] = _cachedContributor(s, b, id, modelId, i);
            unchecked {
                totalWeight += weight;
                ++k;
            }
        }
    }

    /// A non-zero weight, and the contribution not seen before in this record.
    function _checkOnce(uint64 id, uint32 weight, uint256 seenGeneration, uint256 i) private {
        if (weight == 0) _reject(i, abi.encodeWithSelector(ZeroWeight.selector, id));
        uint256 seenKey = T_SEEN | id;
        uint256 mark;
        assembly {
            mark := tload(seenKey)
        }
        if (mark == seenGeneration) _reject(i, abi.encodeWithSelector(DuplicateContribution.selector, id));
        assembly {
            tstore(seenKey, seenGeneration)
        }
    }

    /// The contributor of an accepted contribution in the model's datanets, read once per batch
    /// and model.
    function _cachedContributor(Settlement memory s, BatchState memory b, uint64 id, uint64 modelId, uint256 i)
        private
        returns (address contributor)
    {
        uint256 key = T_CONTRIBUTION | id;
        uint256 cached;
        assembly {
            cached := tload(key)
        }
        if (cached >> 160 == b.modelGeneration) return address(uint160(cached));
        ContributionData storage c = _contributions[id];
        contributor = c.contributor;
        if (contributor == address(0)) _reject(i, abi.encodeWithSelector(UnknownContribution.selector, id));
        if (c.status != ContributionStatus.Accepted) {
            _reject(i, abi.encodeWithSelector(ContributionNotAccepted.selector, id));
        }
        if (!b.datanetsLoaded) {
            _loadDatanets(_models[modelId], b.netCount, s.datanetWords);
            b.datanetsLoaded = true;
        }
        if (!_hasDatanet(s.datanetWords, b.netCount, c.datanetId)) {
            _reject(i, abi.encodeWithSelector(ContributionNotInModelDatanets.selector, id, modelId));
        }
        uint256 entry = (b.modelGeneration << 160) | uint160(contributor);
        assembly {
            tstore(key, entry)
        }
    }

    /// Takes `fee` from the payer's escrow and its allowance for the model, as running totals.
    function _draw(BatchState memory b, address payer, uint64 modelId, uint256 fee, uint256 i) private {
        uint256 key = T_ESCROW | uint160(payer);
        uint256 entry;
        assembly {
            entry := tload(key)
        }
        uint256 index;
        if (entry >> 128 == b.batchGeneration) {
            index = uint128(entry);
        } else {
            index = b.draws++;
            b.drawPayers[index] = payer;
            b.drawHeld[index] = escrowOf[payer];
            entry = (b.batchGeneration << 128) | index;
            assembly {
                tstore(key, entry)
            }
        }
        uint256 taken = b.drawTaken[index] + fee;
        b.drawTaken[index] = taken;
        if (taken > b.drawHeld[index]) {
            _reject(i, abi.encodeWithSelector(InsufficientEscrow.selector, payer, taken, b.drawHeld[index]));
        }

        key = T_ALLOWANCE | uint160(payer);
        assembly {
            entry := tload(key)
        }
        if (entry >> 128 == b.modelGeneration) {
            index = uint128(entry);
        } else {
            index = b.allowanceDraws++;
            b.allowancePayers[index] = payer;
            b.allowanceModels[index] = modelId;
            b.allowanceHeld[index] = allowance[payer][modelId];
            entry = (b.modelGeneration << 128) | index;
            assembly {
                tstore(key, entry)
            }
        }
        taken = b.allowanceTaken[index] + fee;
        b.allowanceTaken[index] = taken;
        if (taken > b.allowanceHeld[index]) {
            _reject(
                i,
                abi.encodeWithSelector(AllowanceExceeded.selector, payer, modelId, taken, b.allowanceHeld[index])
            );
        }
    }

    /// Adds `amount` to `recipient`'s ledger entry (no event: RoyaltyPaid or BatchPaid reports it).
    function _credit(Settlement memory s, address recipient, uint256 amount) private {
        if (amount == 0) return;
        uint256 key = uint256(uint160(recipient));
        uint256 entry;
        assembly {
            entry := tload(key)
        }
        uint256 generation = s.generation;
        if (entry >> 128 == generation) {
            unchecked {
                s.amounts[uint128(entry)] += amount;
            }
        } else {
            uint256 index = s.count;
            s.recipients[index] = recipient;
            s.amounts[index] = amount;
            unchecked {
                s.count = index + 1;
            }
            assembly {
                tstore(key, or(shl(128, generation), index))
            }
        }
    }

    function _reject(uint256 i, bytes memory reason) private pure {
        revert RecordRejected(i, reason);
    }

    /// The precompile's tree: leaves padded with zero words to a power of two,
    /// node = keccak256(0x01 ++ left ++ right).
    function _merkleRoot(bytes32[] memory leaves) private pure returns (bytes32) {
        uint256 width = 1;
        while (width < leaves.length) width <<= 1;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i; i < leaves.length; ++i) level[i] = leaves[i];
        while (width > 1) {
            width >>= 1;
            for (uint256 i; i < width; ++i) {
                level[i] = keccak256(abi.encodePacked(bytes1(0x01), level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    /// One link of an epoch's commitment chain: keccak256(0x02 ++ previous ++ batchId ++ count ++ root).
    function _link(bytes32 previous, uint64 batchId, uint32 count, bytes32 root) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x02), previous, batchId, count, root));
    }

    function batchCommitment(uint64 epoch) external view returns (bytes32) {
        return _commitments[epoch];
    }

    function verifyInference(InferenceProof calldata p) external view returns (bool) {
        uint64 epoch = p.batchId / SETTLEMENT_EPOCH;
        bytes32 commitment = _commitments[epoch];
        if (commitment == bytes32(0) || p.index >= p.count) return false;
        uint256 index = p.index;
        bytes32[] calldata siblings = p.siblings;
        if (siblings.length < 256 && index >> siblings.length != 0) return false;
        bytes32 node = keccak256(bytes.concat(bytes1(0x00), p.record));
        for (uint256 level; level < siblings.length; ++level) {
            node = (index >> level) & 1 == 1
                ? keccak256(abi.encodePacked(bytes1(0x01), siblings[level], node))
                : keccak256(abi.encodePacked(bytes1(0x01), node, siblings[level]));
        }
        bytes32 acc = _link(p.prior, p.batchId, p.count, node);
        uint64 previous = p.batchId;
        for (uint256 k; k < p.later.length; ++k) {
            BatchLink calldata l = p.later[k];
            if (l.batchId <= previous || l.batchId / SETTLEMENT_EPOCH != epoch) return false;
            acc = _link(acc, l.batchId, l.count, l.root);
            previous = l.batchId;
        }
        return acc == commitment;
    }

    // ---- views ----

    function getDatanet(uint64 datanetId) external view returns (Datanet memory) {
        DatanetData storage d = _datanets[datanetId];
        if (d.curator == address(0)) revert UnknownDatanet(datanetId);
        return Datanet(d.curator, d.metadataUri, d.contributionCount);
    }

    function getContribution(uint64 contributionId) external view returns (Contribution memory) {
        ContributionData storage c = _contributions[contributionId];
        if (c.contributor == address(0)) revert UnknownContribution(contributionId);
        return Contribution(c.datanetId, c.contributor, c.contentHash, c.weight, c.status);
    }

    function getModel(uint64 modelId) external view returns (Model memory model) {
        ModelData storage m = _model(modelId);
        uint256 n = m.datanetCount;
        uint64[] memory ids = new uint64[](n);
        for (uint256 i; i < n; ) {
            ids[i] = m.datanetIds[i];
            unchecked {
                ++i;
            }
        }
        model = Model(m.owner, m.modelHash, m.metadataUri, m.price, m.dataBps, m.operatorBps, ids);
    }

    function getInference(uint64 inferenceId) external view returns (InferenceRecord memory) {
        InferenceData storage r = _inferences[inferenceId];
        if (r.modelId == 0) revert UnknownInference(inferenceId);
        return InferenceRecord(
            r.modelId, r.payer, r.operator, r.tokens, r.fee, r.inferenceHash, r.attributionHash, r.blockNumber
        );
    }

    function isOperator(uint64 modelId, address operator) external view returns (bool) {
        _model(modelId);
        return _operators[modelId][operator];
    }

    function modelStats(uint64 modelId) external view returns (ModelStats memory) {
        ModelData storage m = _model(modelId);
        return ModelStats(uint64(m.inferences), m.tokens, m.fees);
    }

    function datanetCount() external view returns (uint64) {
        return _counters.datanets;
    }

    function contributionCount() external view returns (uint64) {
        return _counters.contributions;
    }

    function modelCount() external view returns (uint64) {
        return _counters.models;
    }

    function inferenceCount() external view returns (uint64) {
        return _counters.inferences;
    }
}
