"""Notifications: the durable e-mail outbox, per-user preferences and mutes, and job runs.

Mails are rendered and written to the outbox inside the business transaction
(``outbox.queue_mail`` / ``outbox.queue_template``) and delivered after the commit by the
scheduler's ``deliver-outbox`` job (``sender.deliver_due``).
"""
