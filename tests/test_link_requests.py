""" "Email me a new link": the same answer, the same work and the same time whether or not
the address is known, and an hourly limit that holds when requests come at once (issue 10).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from recovery import login_links, tasks
from recovery.models import AuditEvent, LoginLink, Patient, Treatment
from tests.helpers import imported_modules

QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
def test_the_request_only_queues_the_sending_and_the_worker_sends_after_the_answer(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The old view made the link and sent the email inside the request: a known address
    answered measurably later than an unknown one."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = QUEUE
    links_before = LoginLink.objects.count()

    known = client.post("/sign-in/new-link/", {"email": "ana@example.com"})
    unknown = client.post("/sign-in/new-link/", {"email": "nobody@example.com"})

    # The same answer, and in the request nothing but one queued task each.
    assert known.status_code == unknown.status_code == 200
    assert mail.outbox == []
    assert LoginLink.objects.count() == links_before
    queued = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [q.task_path for q in queued] == ["recovery.login_links.send_login_links"] * 2
    assert [q.args_kwargs["args"][0] for q in queued] == [[patient.pk], []]
    for q in queued:  # the address itself is not kept in the queue
        assert "ana@example.com" not in str(q.args_kwargs)

    # What the worker (manage.py db_worker) then does with each.
    with django_capture_on_commit_callbacks(execute=True):
        for q in queued:
            tasks.send_login_links.call(*q.args_kwargs["args"])

    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert LoginLink.objects.count() == links_before + 1
    assert AuditEvent.objects.filter(action="patient.login_link_emailed").count() == 1


@pytest.mark.django_db
def test_a_request_queued_under_the_tasks_old_name_is_still_sent(
    client: Client,
    patient: Patient,
    treatment: Treatment,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Before the task moved beside the code it runs, the queue named it recovery.tasks.
    send_login_links: one queued then and run after the upgrade still emails the link."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = QUEUE
    client.post("/sign-in/new-link/", {"email": "ana@example.com"})
    DBTaskResult.objects.update(task_path="recovery.tasks.send_login_links")
    [queued] = DBTaskResult.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        assert queued.task.call(*queued.args_kwargs["args"]) == 1  # as db_worker runs it
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]


def test_the_login_links_do_not_import_the_tasks_module() -> None:
    """Issue 12: login_links imported tasks inside a function, to queue the task that calls
    back into login_links; the task now lives there."""
    assert "recovery.tasks" not in imported_modules(login_links)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_hourly_limit_holds_when_requests_come_at_once(
    patient: Patient, treatment: Treatment, settings: Any
) -> None:
    """20 requests at once gave 5 links where 4 are allowed: each counted before another's
    link was made. The patient's row is now locked while counting."""
    settings.LOGIN_LINKS_PER_HOUR = 4
    links_before = LoginLink.objects.filter(patient=patient).count()
    start = threading.Barrier(12)
    statuses: list[int] = []

    def ask() -> None:
        try:
            start.wait(10)
            statuses.append(
                Client().post("/sign-in/new-link/", {"email": "ana@example.com"}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [200] * 12
    made = LoginLink.objects.filter(patient=patient).count() - links_before
    assert made == max(0, 4 - links_before)
    assert len(mail.outbox) == made
