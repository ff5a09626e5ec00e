"""The dialogue with each customer: contacts, service cases, questions and answers, over
:class:`dialogue.DialogueService` (``/v1/customers/{id}/contacts|cases|answers|next-questions``,
``/v1/questions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminKey, CustomersKey, DialogueDep
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
from api.schemas.dialogue import (
    AnswerCreate,
    CaseCreate,
    CaseList,
    CasePublic,
    CaseUpdate,
    ContactCreate,
    ContactList,
    ContactPublic,
    FactPublic,
    NextQuestion,
    NextQuestions,
    QuestionCreate,
    QuestionList,
    QuestionPublic,
    ServiceReport,
    posix,
)

router = APIRouter(tags=["dialogue"], route_class=StrictJSONRoute)

Limit = Annotated[int, Query(ge=1, le=1000, description="rows per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="from the previous page")]
_CUSTOMER = "/v1/customers/{customer_id}"


@router.post(
    _CUSTOMER + "/contacts",
    response_model=ContactPublic,
    status_code=201,
    responses={200: {"model": ContactPublic, "description": "Already recorded (same contact_id)"}},
)
def add_contact(
    customer_id: Identifier,
    body: ContactCreate,
    key: CustomersKey,
    dialogue: DialogueDep,
    response: Response,
) -> ContactPublic:
    """Record a contact (201); the same ``contact_id`` again answers the stored one (200)."""
    created, doc = dialogue.add_contact(key.tenant, customer_id, body.to_doc())
    response.status_code = 201 if created else 200
    return ContactPublic.of(doc)


@router.get(_CUSTOMER + "/contacts", response_model=ContactList)
def list_contacts(
    customer_id: Identifier,
    key: CustomersKey,
    dialogue: DialogueDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ContactList:
    """The customer's contacts, newest first, paged."""
    page = dialogue.list_contacts(key.tenant, customer_id, limit=limit, cursor=cursor)
    return ContactList(
        customer_id=customer_id,
        contacts=[ContactPublic.of(c) for c in page.rows],
        next_cursor=page.next_cursor,
    )


@router.post(
    _CUSTOMER + "/cases",
    response_model=CasePublic,
    status_code=201,
    responses={200: {"model": CasePublic, "description": "Already opened (same case_id)"}},
)
def open_case(
    customer_id: Identifier,
    body: CaseCreate,
    key: CustomersKey,
    dialogue: DialogueDep,
    response: Response,
) -> CasePublic:
    """Open a service case (201); the same ``case_id`` again answers the stored one (200)."""
    created, doc = dialogue.open_case(key.tenant, customer_id, body.to_doc())
    response.status_code = 201 if created else 200
    return CasePublic.of(doc)


@router.patch(_CUSTOMER + "/cases/{case_id}", response_model=CasePublic)
def update_case(
    customer_id: Identifier,
    case_id: Identifier,
    body: CaseUpdate,
    key: CustomersKey,
    dialogue: DialogueDep,
) -> CasePublic:
    """Update a case's status, resolution, compensation or contacts it took."""
    return CasePublic.of(dialogue.update_case(key.tenant, customer_id, case_id, body.to_update()))


@router.get(_CUSTOMER + "/cases", response_model=CaseList)
def list_cases(
    customer_id: Identifier,
    key: CustomersKey,
    dialogue: DialogueDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CaseList:
    """The customer's cases, newest first, paged."""
    page = dialogue.list_cases(key.tenant, customer_id, limit=limit, cursor=cursor)
    return CaseList(
        customer_id=customer_id,
        cases=[CasePublic.of(c) for c in page.rows],
        next_cursor=page.next_cursor,
    )


@router.post(_CUSTOMER + "/answers", response_model=FactPublic, status_code=201)
def answer(
    customer_id: Identifier, body: AnswerCreate, key: CustomersKey, dialogue: DialogueDep
) -> FactPublic:
    """Record an answer: it becomes a dated fact on the profile."""
    fact = dialogue.answer(key.tenant, customer_id, body.to_doc())
    bank = dialogue.questions(key.tenant)
    return FactPublic.of({**fact, "question": bank.get(fact["question_id"], {}).get("text")})


@router.get(_CUSTOMER + "/next-questions", response_model=NextQuestions)
def next_questions(
    customer_id: Identifier,
    key: CustomersKey,
    dialogue: DialogueDep,
    n: Annotated[int, Query(ge=0, le=5, description="one or two per contact")] = 2,
) -> NextQuestions:
    """The unanswered questions most worth asking now, each with why."""
    chosen = dialogue.next_questions(key.tenant, customer_id, n)
    return NextQuestions(
        customer_id=customer_id,
        questions=[
            NextQuestion(
                question_id=c.question_id,
                text=c.question["text"],
                kind=c.question["kind"],
                options=c.question.get("options"),
                attribute=c.question["attribute"],
                why=c.why,
                score=c.score,
            )
            for c in chosen
        ],
    )


@router.put(
    "/v1/questions/{question_id}",
    response_model=QuestionPublic,
    responses={201: {"model": QuestionPublic, "description": "Created"}},
)
def put_question(
    question_id: Identifier,
    body: QuestionCreate,
    key: AdminKey,
    dialogue: DialogueDep,
    response: Response,
) -> QuestionPublic:
    """Create (201) or replace (200) a question of the tenant's bank."""
    doc = body.to_doc()
    created = dialogue.put_question(key.tenant, question_id, doc)
    response.status_code = 201 if created else 200
    return QuestionPublic.of(question_id, doc)


@router.get("/v1/questions", response_model=QuestionList)
def list_questions(key: CustomersKey, dialogue: DialogueDep) -> QuestionList:
    """The tenant's question bank."""
    bank = dialogue.questions(key.tenant)
    return QuestionList(questions=[QuestionPublic.of(q, doc) for q, doc in bank.items()])


@router.delete("/v1/questions/{question_id}", status_code=204, response_class=Response)
def delete_question(question_id: Identifier, key: AdminKey, dialogue: DialogueDep) -> Response:
    """Remove a question; the answers already given stay facts."""
    dialogue.delete_question(key.tenant, question_id)
    return Response(status_code=204)


@router.get("/v1/insights/service", response_model=ServiceReport)
def service_report(
    key: CustomersKey,
    dialogue: DialogueDep,
    since: Annotated[datetime | None, Query(description="cases opened from (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="cases opened before (RFC 3339)")] = None,
) -> ServiceReport:
    """Service cases per day and category, first-contact resolution rate and time to resolve,
    by customer tier."""
    report = dialogue.service_report(key.tenant, posix(since), posix(until))
    return ServiceReport.model_validate(report)
