//! Which sales channels a caller may act in: one rule for every component.
//!
//! A channel changes prices (an app-only coupon, a till-only promotion) and
//! assortment (store-only items at the kiosk), so a channel is a claim that
//! must be earned by the credential, never taken from a header on trust:
//!
//! | caller | may act in | default |
//! | --- | --- | --- |
//! | anonymous (guest) | `web`, `app` | `web` |
//! | customer | `web`, `app` | `app` |
//! | store device | `pos`, `kiosk` (of its own store) | `pos` |
//! | ops (back office, call centre agents, integrations) | every channel | `call_center` |
//!
//! Why may ops claim a store channel? Integrations replay till sales and
//! the call centre places orders for shoppers; both are audited by their
//! principal. A claim the caller may not make is 403 with the reason, in
//! every component, and never silently re-priced.

use super::Caller;
use crate::channel::Channel;
use crate::web::problem::Problem;

const REMOTE: &[Channel] = &[Channel::Web, Channel::App];
const IN_STORE: &[Channel] = &[Channel::Pos, Channel::Kiosk];

/// The channels `caller` may act in.
pub fn allowed(caller: &Caller) -> &'static [Channel] {
    match caller {
        Caller::Anonymous | Caller::Customer(_) => REMOTE,
        Caller::StoreDevice { .. } => IN_STORE,
        Caller::Ops { .. } => &Channel::ALL,
    }
}

/// The channel a caller acts in when it names none.
pub fn default_for(caller: &Caller) -> Channel {
    match caller {
        Caller::Anonymous => Channel::Web,
        Caller::Customer(_) => Channel::App,
        Caller::StoreDevice { .. } => Channel::Pos,
        Caller::Ops { .. } => Channel::CallCenter,
    }
}

/// Whether `caller` may act in `channel`.
pub fn may_use(caller: &Caller, channel: Channel) -> bool {
    allowed(caller).contains(&channel)
}

/// The channel of a request: the `claimed` one if the caller may use it
/// (else 403), otherwise `usual` (for example the channel a cart started
/// in) when the caller may use that, otherwise the caller's default.
pub fn resolve(
    caller: &Caller,
    claimed: Option<Channel>,
    usual: Option<Channel>,
) -> Result<Channel, Problem> {
    match claimed {
        Some(channel) => check(caller, channel).map(|()| channel),
        None => Ok(usual
            .filter(|c| may_use(caller, *c))
            .unwrap_or_else(|| default_for(caller))),
    }
}

/// 403 `channel-not-allowed` when `caller` may not act in `channel`.
pub fn check(caller: &Caller, channel: Channel) -> Result<(), Problem> {
    if may_use(caller, channel) {
        return Ok(());
    }
    Err(refused(
        caller,
        channel.as_str(),
        "its prices and assortment are not granted",
    ))
}

/// The 403 `channel-not-allowed` for `caller` naming `claimed` (a sales
/// channel, or another way of acting such as the back office), saying what
/// the caller may use instead and, in `why`, what was refused.
pub fn refused(caller: &Caller, claimed: &str, why: &str) -> Problem {
    let who = match caller {
        Caller::Anonymous => "a guest",
        Caller::Customer(_) => "a customer",
        Caller::StoreDevice { .. } => "a store device",
        Caller::Ops { .. } => "an operator",
    };
    let allowed: Vec<&str> = allowed(caller).iter().map(|c| c.as_str()).collect();
    Problem::new(
        403,
        "channel-not-allowed",
        "Channel not allowed for this caller",
    )
    .with_detail(format!(
        "{who} may act only in the {} channels, not {claimed}; {why}",
        allowed.join(" and ")
    ))
    .with_extension("allowed_channels", serde_json::json!(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, StoreId};

    fn callers() -> Vec<Caller> {
        vec![
            Caller::Anonymous,
            Caller::Customer(CustomerId::parse("C-1").unwrap()),
            Caller::StoreDevice {
                store: StoreId::parse("WAW-01").unwrap(),
                device: "till-1".into(),
            },
            Caller::Ops {
                operator: "ops".into(),
            },
        ]
    }

    #[test]
    fn shoppers_act_only_remotely_and_devices_only_in_store() {
        for caller in callers() {
            for channel in Channel::ALL {
                let expected = match &caller {
                    Caller::Anonymous | Caller::Customer(_) => {
                        channel == Channel::Web || channel == Channel::App
                    }
                    Caller::StoreDevice { .. } => channel.is_in_store(),
                    Caller::Ops { .. } => true,
                };
                assert_eq!(may_use(&caller, channel), expected, "{caller:?} {channel}");
                let resolved = resolve(&caller, Some(channel), None);
                assert_eq!(resolved.is_ok(), expected, "{caller:?} {channel}");
                if let Err(problem) = resolved {
                    assert_eq!(problem.status(), 403);
                    assert_eq!(problem.slug(), "channel-not-allowed");
                }
            }
        }
    }

    #[test]
    fn an_unclaimed_channel_is_the_usual_one_only_when_allowed() {
        let customer = Caller::Customer(CustomerId::parse("C-1").unwrap());
        assert_eq!(
            resolve(&customer, None, Some(Channel::Web)).unwrap(),
            Channel::Web
        );
        assert_eq!(
            resolve(&customer, None, Some(Channel::Pos)).unwrap(),
            Channel::App,
            "a till cart read by its owner"
        );
        let till = Caller::StoreDevice {
            store: StoreId::parse("WAW-01").unwrap(),
            device: "t".into(),
        };
        assert_eq!(
            resolve(&till, None, Some(Channel::App)).unwrap(),
            Channel::Pos
        );
        assert_eq!(
            resolve(&Caller::Anonymous, None, None).unwrap(),
            Channel::Web
        );
    }
}
