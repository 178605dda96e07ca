//! Black-box tests against a real server on a random port with a temp database.
//! One binary for all of them: linking is the slow part on small machines.

mod auth;
mod binary;
mod capture;
mod characters;
mod cluster;
mod config_names;
mod crash;
mod deploy;
mod disk;
mod drain;
mod fairness;
mod flood;
mod helpers;
mod lifecycle;
mod limits;
mod logs;
mod media;
mod moderation;
mod monitoring;
mod openai;
mod operations;
mod real_model;
mod replicas;
mod resume;
mod s3;
mod safety;
mod safety_table;
mod storage_errors;
mod stories;
mod understanding;
mod views;
mod voice;
mod web;
mod ws;
mod ws_client;
