//! Who may read or edit which cart.
//!
//! | caller | customer's cart | guest cart |
//! | --- | --- | --- |
//! | that customer | read, edit | with the secret: read, edit |
//! | another customer, anonymous | 404 | with the secret: read, edit |
//! | ops | read | read |
//! | store device | 403: only through a hand-off code | 403 |
//!
//! Why 404 and not 403 for another customer's cart? A 403 would confirm
//! that the id is a cart and belongs to someone; 404 says nothing, and a
//! shopper who mistyped an id sees the same answer. Store devices get 403
//! because their refusal depends on their role, not on the cart: telling a
//! till integrator "use the hand-off code" is the useful answer.

use super::CartError;
use super::secret::secret_matches;
use super::store::{CartHeader, Owner};
use crate::auth::Caller;

/// What the caller wants to do with the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Read,
    Edit,
}

/// Checks `caller` (and the `X-Cart-Secret` they sent, if any) against the
/// cart in `header`.
pub fn authorize(
    caller: &Caller,
    secret: Option<&str>,
    header: &CartHeader,
    intent: Intent,
) -> Result<(), CartError> {
    match caller {
        Caller::StoreDevice { .. } => {
            return Err(CartError::Forbidden(
                "store devices load a cart only through the hand-off code the shopper shows (GET /api/carts/handoff/{code})",
            ));
        }
        Caller::Ops { .. } if intent == Intent::Read => return Ok(()),
        Caller::Ops { .. } => {
            return Err(CartError::Forbidden(
                "operators may read carts but not edit them",
            ));
        }
        Caller::Customer(_) | Caller::Anonymous => {}
    }
    let allowed = match (&header.owner, caller) {
        (Owner::Customer(owner), Caller::Customer(id)) => owner == id,
        (Owner::Customer(_), _) => false,
        (Owner::Guest { secret_sha256 }, _) => {
            secret.is_some_and(|s| secret_matches(s, secret_sha256))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(CartError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::CartStatus;
    use crate::cart::secret::GuestSecret;
    use crate::channel::Channel;
    use crate::ids::{CartId, CustomerId, StoreId};
    use crate::money::Currency;
    use chrono::Utc;

    fn cart(owner: Owner) -> CartHeader {
        CartHeader {
            id: CartId::parse("crt_1").unwrap(),
            owner,
            channel: Channel::Web,
            last_channel: Channel::Web,
            currency: Currency::Pln,
            status: CartStatus::Active,
            version: 1,
            merged_into: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn customer(id: &str) -> Caller {
        Caller::Customer(CustomerId::parse(id).unwrap())
    }

    fn check(
        caller: &Caller,
        secret: Option<&str>,
        header: &CartHeader,
        intent: Intent,
        expected: Option<u16>,
    ) {
        let outcome = authorize(caller, secret, header, intent)
            .map_err(|e| crate::web::Problem::from(e).status());
        assert_eq!(outcome.err(), expected, "{caller:?} {intent:?}");
    }

    #[test]
    fn a_customer_reads_and_edits_only_their_own_cart() {
        let theirs = cart(Owner::Customer(CustomerId::parse("C-1").unwrap()));
        check(&customer("C-1"), None, &theirs, Intent::Edit, None);
        check(&customer("C-2"), None, &theirs, Intent::Read, Some(404));
        check(&Caller::Anonymous, None, &theirs, Intent::Read, Some(404));
    }

    #[test]
    fn a_guest_cart_opens_only_with_its_secret() {
        let secret = GuestSecret::generate().unwrap();
        let guest = cart(Owner::Guest {
            secret_sha256: secret.sha256_hex(),
        });
        check(
            &Caller::Anonymous,
            Some(secret.as_str()),
            &guest,
            Intent::Edit,
            None,
        );
        check(
            &customer("C-1"),
            Some(secret.as_str()),
            &guest,
            Intent::Edit,
            None,
        );
        check(&Caller::Anonymous, None, &guest, Intent::Read, Some(404));
        let wrong = GuestSecret::generate().unwrap();
        check(
            &Caller::Anonymous,
            Some(wrong.as_str()),
            &guest,
            Intent::Read,
            Some(404),
        );
    }

    #[test]
    fn operators_read_any_cart_but_edit_none() {
        let ops = Caller::Ops {
            operator: "support".into(),
        };
        let theirs = cart(Owner::Customer(CustomerId::parse("C-1").unwrap()));
        check(&ops, None, &theirs, Intent::Read, None);
        check(&ops, None, &theirs, Intent::Edit, Some(403));
    }

    #[test]
    fn store_devices_never_open_a_cart_directly() {
        let till = Caller::StoreDevice {
            store: StoreId::parse("WAW-01").unwrap(),
            device: "till-1".into(),
        };
        let secret = GuestSecret::generate().unwrap();
        let guest = cart(Owner::Guest {
            secret_sha256: secret.sha256_hex(),
        });
        check(
            &till,
            Some(secret.as_str()),
            &guest,
            Intent::Read,
            Some(403),
        );
    }
}
