//! Email-to-print (`email-inbound`): reading inbound mail, guests and their PINs, routing
//! a mail to the right queue, and the replies to senders.

pub mod guests;
pub mod inbound;
pub mod message;
pub mod replies;
