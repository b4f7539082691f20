//! `tributary attr`: the Attribution and Royalties precompiles from the command line, against any
//! node over JSON-RPC. Writes are signed locally with `--private-key` (or
//! `TRIBUTARY_PRIVATE_KEY`) and sent raw.

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent, SolInterface},
};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail, eyre};
use jsonrpsee::{
    core::{ClientError, client::ClientT, params::ArrayParams},
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::{Value, json};
use std::time::Duration;
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, IAttribution as A, IRoyalties as R, InferenceRecord, ROYALTIES_ADDRESS,
    encode_batch,
};
use tributary_primitives::OpTxEnvelope;

/// `tributary attr`.
#[derive(Debug, Args)]
pub(crate) struct AttrArgs {
    /// Node JSON-RPC URL.
    #[arg(
        long = "rpc-url",
        default_value = "http://127.0.0.1:8545",
        env = "TRIBUTARY_RPC_URL",
        global = true
    )]
    rpc_url: String,
    /// Key that signs writes (hex).
    #[arg(
        long = "private-key",
        env = "TRIBUTARY_PRIVATE_KEY",
        global = true,
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// Print JSON instead of sentences.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AttrCommand,
}

#[derive(Debug, Subcommand)]
enum AttrCommand {
    /// Register a model; you become its owner.
    RegisterModel {
        /// Model hash (32 bytes, hex).
        #[arg(long)]
        hash: B256,
        /// Metadata URI.
        #[arg(long, default_value = "")]
        uri: String,
        /// Price per 1000 tokens, in wei.
        #[arg(long)]
        price: U256,
        /// Data contributors' share, basis points.
        #[arg(long = "data-bps")]
        data_bps: u16,
        /// Operator's share, basis points.
        #[arg(long = "operator-bps")]
        operator_bps: u16,
        /// Datanets the model draws on (repeat the flag).
        #[arg(long = "datanet")]
        datanets: Vec<u64>,
    },
    /// Change a model's price (owner only).
    SetPrice {
        #[arg(long)]
        model: u64,
        /// Price per 1000 tokens, in wei.
        #[arg(long)]
        price: U256,
    },
    /// Allow or remove an operator (owner only).
    SetOperator {
        #[arg(long)]
        model: u64,
        #[arg(long)]
        operator: Address,
        /// Remove instead of allow.
        #[arg(long)]
        remove: bool,
    },
    /// Create a Datanet; you become its curator.
    CreateDatanet {
        #[arg(long, default_value = "")]
        uri: String,
    },
    /// Submit a contribution to a Datanet.
    Contribute {
        #[arg(long)]
        datanet: u64,
        /// Content hash (32 bytes, hex).
        #[arg(long = "content-hash")]
        content_hash: B256,
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Accept or reject a contribution (curator only).
    Review {
        #[arg(long)]
        contribution: u64,
        /// Reject instead of accept.
        #[arg(long)]
        reject: bool,
    },
    /// Add to your escrow.
    Deposit {
        /// Amount in wei.
        #[arg(long)]
        amount: U256,
    },
    /// Let a model's operators charge your escrow up to a cap.
    Approve {
        #[arg(long)]
        model: u64,
        /// Cap in wei.
        #[arg(long)]
        cap: U256,
    },
    /// Record an inference (owner or operator).
    RecordInference {
        #[arg(long)]
        model: u64,
        #[arg(long)]
        payer: Address,
        #[arg(long)]
        tokens: u64,
        /// Inference hash (32 bytes, hex).
        #[arg(long)]
        hash: B256,
        /// `CONTRIBUTION_ID:WEIGHT`, repeatable.
        #[arg(long = "attribution", value_parser = parse_attribution)]
        attributions: Vec<(u64, u32)>,
        /// Pay this much (wei) with the call; without it the fee comes from the payer's escrow.
        #[arg(long)]
        value: Option<U256>,
    },
    /// Settle many inferences in one transaction from a JSON file (owner or operator of
    /// every record's model; each payer's escrow pays): a list of
    /// `{"model", "payer", "tokens", "outputHash", "attributions": [{"contribution", "weight"}],
    /// "fee"}`, `fee` (wei, decimal or hex) being optional: without it the model's current
    /// price gives it.
    SettleBatch {
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Show an inference (settled alone or in a batch).
    Inference {
        #[arg(long)]
        id: u64,
    },
    /// Show a batched inference's proof against its epoch's commitment (`verifyInference`).
    InferenceProof {
        #[arg(long)]
        id: u64,
    },
    /// Show a model.
    Model {
        #[arg(long)]
        id: u64,
    },
    /// Show an address's lifetime royalties.
    Earnings {
        #[arg(long)]
        address: Address,
    },
}

fn parse_attribution(s: &str) -> Result<(u64, u32), String> {
    let (id, weight) = s.split_once(':').ok_or("expected CONTRIBUTION_ID:WEIGHT")?;
    Ok((id.parse().map_err(|e| format!("{e}"))?, weight.parse().map_err(|e| format!("{e}"))?))
}

pub(crate) async fn run(args: AttrArgs) -> eyre::Result<()> {
    let client = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(&args.rpc_url)?;
    let cli = Cli { client, key: args.private_key.clone(), json: args.json };
    match args.command {
        AttrCommand::Model { id } => {
            let model = cli.rpc("attr_getModel", vec![json!(format!("{id:#x}"))]).await?;
            if model.is_null() {
                bail!("model {id} does not exist");
            }
            cli.show(&model, || {
                format!("model {id}: {}", serde_json::to_string_pretty(&model).unwrap_or_default())
            });
            Ok(())
        }
        AttrCommand::Earnings { address } => {
            let earned = cli.rpc("attr_earnings", vec![json!(address)]).await?;
            let wei: U256 = earned.as_str().unwrap_or("0x0").parse()?;
            cli.show(&json!({ "address": address, "earnings": wei.to_string() }), || {
                format!("{address} has earned {wei} wei")
            });
            Ok(())
        }
        AttrCommand::Inference { id } => {
            let inference = cli.rpc("attr_getInference", vec![json!(format!("{id:#x}"))]).await?;
            if inference.is_null() {
                bail!("inference {id} does not exist");
            }
            cli.show(&inference, || {
                format!(
                    "inference {id}: {}",
                    serde_json::to_string_pretty(&inference).unwrap_or_default()
                )
            });
            Ok(())
        }
        AttrCommand::InferenceProof { id } => {
            let proof = cli.rpc("attr_getInferenceProof", vec![json!(format!("{id:#x}"))]).await?;
            if proof.is_null() {
                bail!("inference {id} was not settled in a batch (or does not exist)");
            }
            cli.show(&proof, || {
                format!(
                    "inference {id}, record {} of batch {}: {}",
                    hex_u64(&proof["index"]).unwrap_or_default(),
                    hex_u64(&proof["batchId"]).unwrap_or_default(),
                    serde_json::to_string_pretty(&proof).unwrap_or_default()
                )
            });
            Ok(())
        }
        AttrCommand::SettleBatch { file } => {
            let text = std::fs::read_to_string(&file)
                .wrap_err_with(|| format!("cannot read {}", file.display()))?;
            let entries: Value = serde_json::from_str(&text)
                .wrap_err_with(|| format!("{} is not JSON", file.display()))?;
            let records = cli.batch_records(&entries).await?;
            let count = records.len();
            let data = A::settleBatchCall { records: encode_batch(&records).into() }.abi_encode();
            let what = if count == 1 { "1 inference settled" } else { "batch settled" };
            cli.send(ATTRIBUTION_ADDRESS, U256::ZERO, data, what).await
        }
        write => cli.write(write).await,
    }
}

struct Cli {
    client: HttpClient,
    key: Option<String>,
    json: bool,
}

impl Cli {
    async fn rpc(&self, method: &str, params: Vec<Value>) -> eyre::Result<Value> {
        let mut p = ArrayParams::new();
        for v in params {
            p.insert(v)?;
        }
        self.client.request(method, p).await.map_err(|err| eyre!(explain(err)))
    }

    fn show(&self, value: &Value, sentence: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", sentence());
        }
    }

    async fn write(&self, command: AttrCommand) -> eyre::Result<()> {
        let (to, value, data, what) = calldata(command);
        self.send(to, value, data, what).await
    }

    /// The records of a `settle-batch` file; a record without `fee` gets its model's price.
    async fn batch_records(&self, entries: &Value) -> eyre::Result<Vec<InferenceRecord>> {
        let entries = entries.as_array().ok_or_else(|| eyre!("expected a JSON list of records"))?;
        if entries.is_empty() {
            bail!("the file holds no records");
        }
        let mut prices: std::collections::HashMap<u64, U256> = Default::default();
        let mut records = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let field =
                |name: &str| entry.get(name).ok_or_else(|| eyre!("record {index}: no \"{name}\""));
            let number = |name: &str| -> eyre::Result<u64> {
                let value = field(name)?;
                value
                    .as_u64()
                    .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| eyre!("record {index}: \"{name}\" is not a number"))
            };
            let parsed = |name: &str| -> eyre::Result<String> {
                Ok(field(name)?
                    .as_str()
                    .ok_or_else(|| eyre!("record {index}: \"{name}\" is not a string"))?
                    .to_string())
            };
            let model = number("model")?;
            let tokens = number("tokens")?;
            let payer: Address =
                parsed("payer")?.parse().wrap_err_with(|| format!("record {index}: payer"))?;
            let output_hash: B256 = parsed("outputHash")?
                .parse()
                .wrap_err_with(|| format!("record {index}: outputHash"))?;
            let mut attributions = Vec::new();
            for attribution in
                entry.get("attributions").and_then(Value::as_array).into_iter().flatten()
            {
                let id = attribution.get("contribution").and_then(Value::as_u64);
                let weight = attribution.get("weight").and_then(Value::as_u64);
                let (Some(id), Some(weight)) = (id, weight) else {
                    bail!("record {index}: an attribution needs \"contribution\" and \"weight\"");
                };
                let weight = u32::try_from(weight)
                    .map_err(|_| eyre!("record {index}: weight {weight} is above 2^32"))?;
                attributions.push((id, weight));
            }
            let fee = match entry.get("fee") {
                Some(fee) => {
                    let text = fee.as_str().map(str::to_string).unwrap_or_else(|| fee.to_string());
                    text.parse::<U256>().wrap_err_with(|| format!("record {index}: fee"))?
                }
                None => {
                    let price = match prices.get(&model) {
                        Some(price) => *price,
                        None => {
                            let found = self
                                .rpc("attr_getModel", vec![json!(format!("{model:#x}"))])
                                .await?;
                            if found.is_null() {
                                bail!("record {index}: model {model} does not exist");
                            }
                            let price: U256 =
                                found["pricePerKiloToken"].as_str().unwrap_or("0x0").parse()?;
                            prices.insert(model, price);
                            price
                        }
                    };
                    U256::from(tokens)
                        .checked_mul(price)
                        .ok_or_else(|| eyre!("record {index}: tokens x price overflows 256 bits"))?
                        / U256::from(1000)
                }
            };
            let fee = u128::try_from(fee)
                .map_err(|_| eyre!("record {index}: a fee above 2^128 wei cannot be settled"))?;
            records.push(InferenceRecord {
                model_id: model,
                payer,
                tokens,
                fee,
                output_hash,
                attributions,
            });
        }
        Ok(records)
    }

    /// Signs and sends a write, waits for its receipt and reports it.
    async fn send(
        &self,
        to: Address,
        value: U256,
        data: Vec<u8>,
        what: &'static str,
    ) -> eyre::Result<()> {
        let key: PrivateKeySigner = self
            .key
            .as_deref()
            .ok_or_else(|| eyre!("writes need --private-key or TRIBUTARY_PRIVATE_KEY"))?
            .parse()
            .wrap_err("bad private key")?;
        let from = key.address();
        let chain_id = hex_u64(&self.rpc("eth_chainId", vec![]).await?)?;
        let nonce = hex_u64(
            &self.rpc("eth_getTransactionCount", vec![json!(from), json!("pending")]).await?,
        )?;
        let request =
            json!({ "from": from, "to": to, "value": value, "data": Bytes::from(data.clone()) });
        let estimate = hex_u64(&self.rpc("eth_estimateGas", vec![request]).await?)?;
        let tip: U256 = self
            .rpc("eth_maxPriorityFeePerGas", vec![])
            .await?
            .as_str()
            .unwrap_or("0x0")
            .parse()?;
        let price: U256 =
            self.rpc("eth_gasPrice", vec![]).await?.as_str().unwrap_or("0x0").parse()?;
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: estimate + estimate / 5,
            max_fee_per_gas: (price * U256::from(2)).saturating_to(),
            max_priority_fee_per_gas: tip.saturating_to(),
            to: TxKind::Call(to),
            value,
            input: data.into(),
            ..Default::default()
        };
        let signature = key.sign_transaction_sync(&mut tx)?;
        let raw = OpTxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718();
        let hash = self.rpc("eth_sendRawTransaction", vec![json!(Bytes::from(raw))]).await?;
        let receipt = self.wait(&hash).await?;
        if receipt["status"] != "0x1" {
            bail!("transaction {hash} failed on chain");
        }
        let mut out = json!({ "tx": hash, "block": receipt["blockNumber"], "action": what });
        if let Some(id) = new_id(&receipt) {
            out["id"] = json!(id);
        }
        self.show(&out, || match out.get("id") {
            Some(id) => format!("{what}: id {id} (tx {}, block {})", out["tx"], out["block"]),
            None => format!("{what} (tx {}, block {})", out["tx"], out["block"]),
        });
        Ok(())
    }

    async fn wait(&self, hash: &Value) -> eyre::Result<Value> {
        for _ in 0..600 {
            let receipt = self.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await?;
            if !receipt.is_null() {
                return Ok(receipt);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no receipt for {hash} after 60 s")
    }
}

/// Target, value, calldata and a description of a write.
fn calldata(command: AttrCommand) -> (Address, U256, Vec<u8>, &'static str) {
    let z = U256::ZERO;
    match command {
        AttrCommand::RegisterModel { hash, uri, price, data_bps, operator_bps, datanets } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::registerModelCall {
                modelHash: hash,
                metadataUri: uri,
                pricePerKiloToken: price,
                dataBps: data_bps,
                operatorBps: operator_bps,
                datanetIds: datanets,
            }
            .abi_encode(),
            "model registered",
        ),
        AttrCommand::SetPrice { model, price } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::setPriceCall { modelId: model, pricePerKiloToken: price }.abi_encode(),
            "price set",
        ),
        AttrCommand::SetOperator { model, operator, remove } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::setOperatorCall { modelId: model, operator, allowed: !remove }.abi_encode(),
            "operator changed",
        ),
        AttrCommand::CreateDatanet { uri } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::createDatanetCall { metadataUri: uri }.abi_encode(),
            "datanet created",
        ),
        AttrCommand::Contribute { datanet, content_hash, weight } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::submitContributionCall { datanetId: datanet, contentHash: content_hash, weight }
                .abi_encode(),
            "contribution submitted",
        ),
        AttrCommand::Review { contribution, reject } => (
            ATTRIBUTION_ADDRESS,
            z,
            A::reviewContributionCall { contributionId: contribution, accepted: !reject }
                .abi_encode(),
            "contribution reviewed",
        ),
        AttrCommand::Deposit { amount } => {
            (ROYALTIES_ADDRESS, amount, R::depositCall {}.abi_encode(), "deposited")
        }
        AttrCommand::Approve { model, cap } => (
            ROYALTIES_ADDRESS,
            z,
            R::approveCall { modelId: model, cap }.abi_encode(),
            "allowance set",
        ),
        AttrCommand::RecordInference { model, payer, tokens, hash, attributions, value } => {
            let (ids, weights) = attributions.into_iter().unzip();
            (
                ATTRIBUTION_ADDRESS,
                value.unwrap_or_default(),
                A::recordInferenceCall {
                    modelId: model,
                    payer,
                    tokens,
                    inferenceHash: hash,
                    contributionIds: ids,
                    weights,
                }
                .abi_encode(),
                "inference recorded",
            )
        }
        AttrCommand::Model { .. }
        | AttrCommand::Earnings { .. }
        | AttrCommand::Inference { .. }
        | AttrCommand::InferenceProof { .. }
        | AttrCommand::SettleBatch { .. } => {
            unreachable!("reads and batches are handled before")
        }
    }
}

/// The id a write created, from its event.
fn new_id(receipt: &Value) -> Option<u64> {
    let logs = receipt["logs"].as_array()?;
    logs.iter().find_map(|log| {
        let topics: Vec<B256> =
            log["topics"].as_array()?.iter().filter_map(|t| t.as_str()?.parse().ok()).collect();
        let first = *topics.first()?;
        let indexed = [
            A::DatanetCreated::SIGNATURE_HASH,
            A::ContributionSubmitted::SIGNATURE_HASH,
            A::ModelRegistered::SIGNATURE_HASH,
            A::InferenceRecorded::SIGNATURE_HASH,
            A::BatchSettled::SIGNATURE_HASH,
        ];
        if !indexed.contains(&first) {
            return None;
        }
        Some(U256::from_be_bytes(topics.get(1)?.0).saturating_to())
    })
}

/// A JSON-RPC error in words, with the precompile's custom error decoded when there is one.
fn explain(err: ClientError) -> String {
    let ClientError::Call(obj) = err else { return err.to_string() };
    let Some(data) = obj.data().and_then(|d| d.get().trim_matches('"').parse::<Bytes>().ok())
    else {
        return obj.message().to_string();
    };
    if let Ok(A::IAttributionErrors::RecordRejected(rejected)) =
        A::IAttributionErrors::abi_decode(&data)
    {
        let reason = A::IAttributionErrors::abi_decode(&rejected.reason)
            .map(|inner| format!("{inner:?}"))
            .unwrap_or_else(|_| format!("{}", rejected.reason));
        return format!("reverted: record {} of the batch: {reason}", rejected.recordIndex);
    }
    if let Ok(e) = A::IAttributionErrors::abi_decode(&data) {
        return format!("reverted: {e:?}");
    }
    if let Ok(e) = R::IRoyaltiesErrors::abi_decode(&data) {
        return format!("reverted: {e:?}");
    }
    obj.message().to_string()
}

fn hex_u64(value: &Value) -> eyre::Result<u64> {
    let s = value.as_str().ok_or_else(|| eyre!("expected a hex quantity, got {value}"))?;
    Ok(u64::from_str_radix(s.trim_start_matches("0x"), 16)?)
}
