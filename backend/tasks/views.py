"""Task routes under /api/v1/tasks: the list, one task, and posting an event (the workflow)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from backend import pagination, roles
from backend.api import Blueprint
from backend.auth import auth, current_user
from backend.errors import ErrorSchema
from backend.extensions import db
from backend.tasks import reads, services
from backend.tasks.schemas import (
    TaskDetailSchema,
    TaskEventInSchema,
    TaskPageSchema,
    TaskQuerySchema,
    TaskSchema,
)

blp = Blueprint(
    "tasks",
    __name__,
    url_prefix="/api/v1/tasks",
    description="Tasks routed to the departments: their inbox, and what they did with each.",
)


FILTER_ERROR = {
    "schema": ErrorSchema,
    "description": "validation_error, unknown_zone, unknown_organisation",
}


@blp.route("")
class Tasks(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    @blp.alt_response(400, **pagination.CURSOR_ERROR)
    @blp.alt_response(422, **FILTER_ERROR)
    def get(self, query: dict[str, Any]) -> pagination.Page[reads.TaskView]:
        """List tasks, newest first: a department's own organisation's, or all"""
        return reads.list_tasks(db.session(), current_user(), **query)


@blp.route("/<uuid:task_id>")
class TaskById(MethodView):
    @auth(blp, *roles.STAFF)
    @blp.response(200, TaskDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, task_id: uuid.UUID) -> reads.TaskDetail:
        """Get a task with its case's reports, photos, history and deadline"""
        return reads.task_detail(db.session(), current_user(), task_id)


@blp.route("/<uuid:task_id>/events")
class TaskEvents(MethodView):
    @auth(blp, *roles.TASK_WORKERS)
    @blp.arguments(TaskEventInSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body: dict[str, Any], task_id: uuid.UUID) -> reads.TaskView:
        """Acknowledge, start, resolve or reject a task (a rejection routes the case on)"""
        return services.record_event(db.session(), current_user(), task_id, **body)
