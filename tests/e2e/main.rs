//! End-to-end tests across processes: the real `tributary` binary, started, killed and
//! restarted on 127.0.0.1 with an ephemeral port.

mod attr_cli;
mod crash;
mod flashblocks;
mod follower;
mod gossip;
mod kona;
mod load;
mod process;
mod rollup;
