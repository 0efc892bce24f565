//! The mail password's secret, checked before the first resource is made. The provision
//! workflow's first step is the network's, so a secret the tasks could not read stops `up`
//! here, with nothing created; without the check it would surface only when ECS fails to
//! start a task, after every tier exists.

use vikunja_core::settings::parse_secret_arn;
use vikunja_core::{Error, ErrorClass, Result, SdkContext, Settings};

pub async fn check_mail_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    region: &str,
    settings: &Settings,
) -> Result<()> {
    let Some(mail) = &settings.mail else {
        return Ok(());
    };
    let arn = &mail.password_secret_arn;
    let stack = &settings.stack;
    let nothing = "nothing was changed";
    // `validate` has passed, so the ARN parses; its region is the one ECS would read it in.
    let secret_region = parse_secret_arn(arn)
        .map(|(_, r, _, _)| r)
        .unwrap_or_default();
    if !region.is_empty() && secret_region != region {
        return Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn}: the secret is in {secret_region} and the stack in {region}; the tasks read secrets of their own region only: create it in {region} as {stack}/<name>, then run up again ({nothing})"
        )));
    }
    let described = secrets
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .context(format!("find the mail password's secret {arn}"));
    match described {
        Ok(secret) if secret.deleted_date().is_some() => Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn}: the secret is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id {arn}) or give another, then run up again ({nothing})"
        ))),
        Ok(_) => Ok(()),
        Err(error) if error.is(ErrorClass::NotFound) => Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn}: no such secret: create it (aws secretsmanager create-secret --name {stack}/mail/smtp-password --secret-string <SMTP password>) and give the ARN it answers with, then run up again ({nothing})"
        ))),
        // The stack's roles may read only `<stack>/…` secrets of their own account and
        // region: one they are refused is one the tasks would be refused too.
        Err(error) if error.is(ErrorClass::AccessDenied) => Err(Error::invalid(format!(
            "mail.passwordSecretArn {arn}: the stack may not read it ({error}): the tasks read only secrets named {stack}/… in this account and region; store the password there, then run up again ({nothing})"
        ))),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{json_error, ok, Replay};

    resources::replayed_client!(secrets, aws_sdk_secretsmanager);

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:v/mail/smtp-AbCdEf";

    fn settings(arn: &str) -> Settings {
        serde_json::from_value(serde_json::json!({
            "stack": "v",
            "mail": {
                "host": "email-smtp.us-east-1.amazonaws.com",
                "fromAddress": "v@example.com",
                "user": "AKIAEXAMPLE",
                "passwordSecretArn": arn,
            }
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_readable_secret_passes_and_no_mail_asks_nothing() {
        let replay = Replay::new(vec![ok(
            "DescribeSecret",
            format!(r#"{{"ARN":"{ARN}","Name":"v/mail/smtp"}}"#),
        )]);
        check_mail_secret(&secrets(&replay), "us-east-1", &settings(ARN))
            .await
            .unwrap();
        replay.assert_done();
        let none = Replay::new(vec![]);
        check_mail_secret(&secrets(&none), "us-east-1", &Settings::for_stack("v"))
            .await
            .unwrap();
        none.assert_done();
    }

    #[tokio::test]
    async fn a_missing_denied_or_deleted_secret_is_refused_with_what_to_do() {
        for (answer, says) in [
            (
                json_error("DescribeSecret", 400, "ResourceNotFoundException"),
                "no such secret: create it (aws secretsmanager create-secret --name v/mail/smtp-password",
            ),
            (
                json_error("DescribeSecret", 400, "AccessDeniedException"),
                "the tasks read only secrets named v/",
            ),
            (
                ok(
                    "DescribeSecret",
                    format!(r#"{{"ARN":"{ARN}","Name":"v/mail/smtp","DeletedDate":1764000000}}"#),
                ),
                "scheduled for deletion",
            ),
        ] {
            let replay = Replay::new(vec![answer]);
            let error = check_mail_secret(&secrets(&replay), "us-east-1", &settings(ARN))
                .await
                .unwrap_err();
            assert_eq!(error.name(), "InvalidInput", "{error}");
            let text = error.to_string();
            assert!(text.contains(says) && text.contains("nothing was changed"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_secret_of_another_region_is_refused_without_a_call() {
        let replay = Replay::new(vec![]);
        let error = check_mail_secret(&secrets(&replay), "eu-west-1", &settings(ARN))
            .await
            .unwrap_err();
        replay.assert_done();
        assert!(
            error
                .to_string()
                .contains("in us-east-1 and the stack in eu-west-1"),
            "{error}"
        );
    }
}
